// `egret submit` and `egret status` on the real local cluster, as the unprivileged user
// alice, with the real egret-train on a tiny model (built by the test, no download):
//  - a LoRA fine-tune on 2 ranks (srun --mpi=pmix) completes, its adapter and metrics are
//    where the jobspec says, its loss falls, and `egret status` shows its progress;
//  - eval jobs of the base model and of that adapter complete, and the adapter's eval loss is
//    lower (the "before/after" a tenant looks at);
//  - a sweep becomes an array whose tasks train with their own values in their own dirs;
//  - SIGUSR1 mid-run makes every rank checkpoint and exit 75, the script requeues the job, and
//    the rerun resumes from the checkpoint and finishes;
//  - a jobspec that does not fit the cluster is refused before sbatch.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/strings.h"
#include "tests/finetune/support.h"
#include "tests/jobspecs/tenant_view.h"
#include "tests/support/slurm.h"

namespace egret::testing {
namespace {

namespace fs = std::filesystem;

struct Env {
  std::string dir;   // the test's directory (writable by everyone): jobspecs, logs, status
  TenantView view;   // acme's view; this test's files are under <kind>/<test name>/
  std::string test;  // the test's name, the subdirectory of data/ and models/ in the view
};

// The tenant's view: a tiny llama (byte tokenizer) as models/<test>/tiny, the alphabet task
// imported by egret-data as data/<test>/{train,eval}.h5, and a prompt/answer file
// data/<test>/qa.jsonl. Checkpoints of earlier runs of the test are removed (job ids restart
// with the cluster, and a run directory would otherwise resume an old run).
Env MakeEnv(const std::string& name, const std::vector<std::string>& run_names) {
  Env e;
  e.test = name;
  e.dir = MakeJobDir(name);
  e.view = ViewFor("acme", e.dir + "/view");
  for (const char* d : {"data", "models"}) fs::remove_all(e.view.root + "/" + d + "/" + name);
  for (const auto& r : run_names) fs::remove_all(e.view.root + "/checkpoints/" + r);
  TinyJob t = MakeTinyJob(name, 160, 48);
  fs::create_directories(e.view.root + "/models/" + name);
  fs::create_directories(e.view.root + "/data/" + name);
  fs::copy(t.model, e.view.root + "/models/" + name + "/tiny", fs::copy_options::recursive);
  fs::copy_file(t.train, e.view.root + "/data/" + name + "/train.h5");
  fs::copy_file(t.eval, e.view.root + "/data/" + name + "/eval.h5");
  EXPECT_TRUE(WriteFileAtomic(e.view.root + "/data/" + name + "/qa.jsonl",
                              "{\"prompt\": \"abcdef\", \"answer\": \"ghij\"}\n"
                              "{\"prompt\": \"mnop\", \"answer\": \"qrst\"}\n").ok());
  OpenUp(e.view.root + "/models/" + name);
  OpenUp(e.view.root + "/data/" + name);
  fs::remove_all(t.dir);
  return e;
}

ProcessResult Egret(const Env& e, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BuildDir() + "/bin/egret"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.cwd = e.dir;
  o.env = e.view.Env();
  o.env.push_back("EGRET_PREFIX=" + BuildDir());
  o.timeout_s = 60;
  return RunAs("alice", argv, o);
}

long JobId(const ProcessResult& r) {
  std::string out(Trim(r.out));
  return out.empty() || out.find_first_not_of("0123456789") != std::string::npos ? -1 : std::stol(out);
}

const char* kTraining =
    "[training]\nmode = \"lora\"\nsteps = 12\nglobal_batch_size = 8\nmicro_batch_size = 2\nlr = 1e-2\n"
    "seed = 3\nschedule = \"cosine\"\nwarmup_steps = 2\n"
    "[training.lora]\nr = 4\nalpha = 8\n"
    "target_modules = [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\", \"gate_proj\", \"up_proj\", \"down_proj\"]\n";

// BODY may say DATA/ for this test's data directory in the view.
std::string Spec(const Env& e, const std::string& name, const std::string& kind, std::string body) {
  for (size_t p = body.find("DATA/"); p != std::string::npos; p = body.find("DATA/", p))
    body.replace(p, 5, "data/" + e.test + "/");
  std::string path = e.dir + "/" + name + ".toml";
  std::string text = "kind = \"" + kind + "\"\nname = \"" + name + "\"\ntenant = \"acme\"\n" +
                     "[resources]\npartition = \"gpu\"\nranks_per_node = 2\ngpus_per_node = 1\ntime_limit = \"10m\"\n"
                     "[model]\nbase = \"models/" + e.test + "/tiny\"\n[output]\ndir = \"runs\"\n" + body;
  EXPECT_TRUE(WriteFileAtomic(path, text).ok());
  return path;
}

nlohmann::json Status(const Env& e, const std::string& id) {
  auto st = Egret(e, {"status", id, "--json"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  auto j = nlohmann::json::parse(st.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

std::string Log(const Env& e, const std::string& name, const std::string& id) {
  return ReadText(e.dir + "/runs/" + name + "/" + id + ".out");
}

TEST(EgretSubmit, FinetuneThenEvalPairCompletes) {
  Env e = MakeEnv("jobspec-pair", {"ft", "ev-base", "ev-tuned"});
  auto sub = Egret(e, {"submit", Spec(e, "ft", "finetune",
                                      std::string("[data]\ntrain = \"DATA/train.h5\"\n") + kTraining +
                                          "[eval]\ndataset = \"DATA/eval.h5\"\n[checkpoint]\ndir = \"checkpoints/{name}\"\n")});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0) << sub.out;
  JobInfo job = WaitForJob(id, 180);
  std::string log = Log(e, "ft", std::to_string(id));
  ASSERT_EQ(job.state, "COMPLETED") << log;
  EXPECT_EQ(job.fields["Account"], "acme");
  // Two ranks (srun --mpi=pmix) shared each step.
  EXPECT_NE(log.find("2 rank(s)"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(e.view.root + "/checkpoints/ft/adapter/adapter_config.json")) << log;
  auto train = TrainRecords(e.dir + "/runs/ft/" + std::to_string(id) + "/metrics.jsonl");
  ASSERT_EQ(train.size(), 12u) << log;
  EXPECT_LT(train.back()["loss"].get<double>(), train.front()["loss"].get<double>());

  auto st = Status(e, std::to_string(id));
  EXPECT_EQ(st["state"], "COMPLETED");
  EXPECT_EQ(st["tenant"], "acme");
  EXPECT_EQ(st["progress"]["step"], 12);
  EXPECT_EQ(st["progress"]["total"], 12);
  EXPECT_EQ(st["progress"]["loss"], train.back()["loss"]);
  EXPECT_TRUE(st["eval"].contains("eval_loss")) << st.dump();  // the end-of-training evaluation
  auto table = Egret(e, {"status"});
  EXPECT_NE(table.out.find(std::to_string(id)), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("12/12"), std::string::npos) << table.out;

  // Eval of the base model and of the adapter, on one rank each.
  const std::string sets = "[eval]\ndataset = \"DATA/eval.h5\"\nexact_match = \"DATA/qa.jsonl\"\nmax_new_tokens = 4\n";
  auto base = Egret(e, {"submit", Spec(e, "ev-base", "eval", sets), "--set", "resources.ranks_per_node=1"});
  auto tuned = Egret(e, {"submit", Spec(e, "ev-tuned", "eval", sets), "--set", "resources.ranks_per_node=1",
                         "--set", "model.adapter=checkpoints/ft/adapter"});
  ASSERT_GT(JobId(base), 0) << base.err;
  ASSERT_GT(JobId(tuned), 0) << tuned.err;
  for (const auto& [name, r] : {std::pair{"ev-base", base}, std::pair{"ev-tuned", tuned}}) {
    JobInfo j = WaitForJob(JobId(r), 120);
    EXPECT_EQ(j.state, "COMPLETED") << Log(e, name, std::to_string(JobId(r)));
  }
  auto eb = Status(e, std::to_string(JobId(base)))["eval"];
  auto et = Status(e, std::to_string(JobId(tuned)))["eval"];
  ASSERT_TRUE(eb.contains("eval_loss") && et.contains("eval_loss")) << eb.dump() << et.dump();
  EXPECT_LT(et["eval_loss"].get<double>(), eb["eval_loss"].get<double>());
  EXPECT_EQ(et["exact_match_total"], 2);
  // A copy of the result stays in the tenant's view.
  EXPECT_TRUE(fs::exists(e.view.root + "/checkpoints/ev-tuned/" + std::to_string(JobId(tuned)) + "/eval.json"));
}

// nodes = 2 x ranks_per_node = 1: srun --mpi=pmix starts one rank on each emulated node and
// they train as one data-parallel run.
TEST(EgretSubmit, TwoNodeFinetuneCompletes) {
  Env e = MakeEnv("jobspec-2node", {"two"});
  std::string training = kTraining;
  training.replace(training.find("steps = 12"), 10, "steps = 4");
  auto sub = Egret(e, {"submit", Spec(e, "two", "finetune", "[data]\ntrain = \"DATA/train.h5\"\n" + training),
                       "--set", "resources.nodes=2", "--set", "resources.ranks_per_node=1"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0);
  JobInfo job = WaitForJob(id, 120);
  std::string log = Log(e, "two", std::to_string(id));
  ASSERT_EQ(job.state, "COMPLETED") << log;
  EXPECT_EQ(job.fields["NumNodes"], "2") << log;
  EXPECT_NE(log.find("2 rank(s)"), std::string::npos) << log;
  EXPECT_EQ(TrainRecords(e.dir + "/runs/two/" + std::to_string(id) + "/metrics.jsonl").size(), 4u) << log;
}

TEST(EgretSubmit, SweepIsAnArrayWithPerTaskValuesAndDirectories) {
  Env e = MakeEnv("jobspec-sweep", {"sweep"});
  std::string training = kTraining;
  training.replace(training.find("steps = 12"), 10, "steps = 4");
  training.replace(training.find("lr = 1e-2"), 9, "lr = [1e-3, 1e-2]");
  // In the managed gpu partition: egret-quotad splits the array's tasks off and admits each
  // under its own job id, which egret.so checks at step start.
  auto sub = Egret(e, {"submit", Spec(e, "sweep", "finetune", "[data]\ntrain = \"DATA/train.h5\"\n" + training),
                       "--set", "resources.ranks_per_node=1"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0);
  for (int task = 0; task < 2; ++task) {
    std::string tid = std::to_string(id) + "_" + std::to_string(task);
    std::string status_dir = e.dir + "/runs/sweep/" + tid;
    nlohmann::json st;
    for (int i = 0; i < 600; ++i) {
      st = Status(e, tid);
      if (st.value("state", "") == "COMPLETED" || st.value("state", "") == "FAILED") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ASSERT_EQ(st["state"], "COMPLETED") << Log(e, "sweep", tid);
    auto cfg = ReadText(status_dir + "/job.toml");
    EXPECT_NE(cfg.find(task == 0 ? "lr = 0.001\n" : "lr = 0.01\n"), std::string::npos) << cfg;
    EXPECT_TRUE(fs::exists(e.view.root + "/checkpoints/sweep/" + std::to_string(id) + "/" + std::to_string(task) +
                           "/adapter/adapter_config.json"));
    EXPECT_EQ(st["progress"]["step"], 4);
  }
}

TEST(EgretSubmit, SignalCheckpointsRequeuesAndTheRerunResumes) {
  Env e = MakeEnv("jobspec-requeue", {"rq"});
  std::string training = kTraining;
  training.replace(training.find("steps = 12"), 10, "steps = 400");
  auto sub = Egret(e, {"submit", Spec(e, "rq", "finetune", "[data]\ntrain = \"DATA/train.h5\"\n" + training),
                       "--set", "resources.ranks_per_node=2"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0);
  std::string metrics = e.dir + "/runs/rq/" + std::to_string(id) + "/metrics.jsonl";
  // What Slurm does at --signal=USR1@T, or egret-quotad on preemption: USR1 to every rank.
  bool started = false;
  for (int i = 0; i < 1200 && !started; ++i) {
    started = !TrainRecords(metrics).empty();
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(started) << Log(e, "rq", std::to_string(id));
  auto sig = RunAs("alice", {"scancel", "--signal=USR1", std::to_string(id)});
  ASSERT_EQ(sig.exit_code, 0) << sig.err;
  JobInfo job;
  for (int i = 0; i < 4 && job.state != "COMPLETED"; ++i) job = WaitForJob(id, 90);
  std::string log = Log(e, "rq", std::to_string(id));
  ASSERT_EQ(job.state, "COMPLETED") << log;
  EXPECT_EQ(job.fields["Restarts"], "1") << log;
  EXPECT_NE(log.find("egret: checkpointed on SIGUSR1; requeueing job " + std::to_string(id) + " to resume"),
            std::string::npos) << log;
  // The metrics read as one run: the preempted end, then a start resumed from a checkpoint.
  int preempted = 0, resumed = 0;
  for (const auto& r : ReadJsonl(metrics)) {
    if (r.value("type", "") == "end" && r.value("status", "") == "preempted") ++preempted;
    if (r.value("type", "") == "start" && !r.value("resumed_from", std::string()).empty()) ++resumed;
  }
  EXPECT_EQ(preempted, 1) << log;
  EXPECT_EQ(resumed, 1) << log;
  EXPECT_EQ(TrainRecords(metrics).back()["step"], 400);
}

// A job egret-quotad holds: `egret status` shows the daemon's own reason (its why view, the
// same text egretctl prints), next to Slurm's.
TEST(EgretSubmit, StatusShowsQuotadsReasonForAHeldJob) {
  Env e = MakeEnv("jobspec-held", {"held", "held-a"});
  if (!e.view.plugin) GTEST_SKIP() << "egret.so and egret-quotad are not part of this cluster";
  // One job holds acme's 4 nominal GPUs; a second 4-GPU job would need 4 more than acme may
  // borrow from its cohort (2), so egret-quotad holds it with a reason.
  std::string training = kTraining;
  training.replace(training.find("steps = 12"), 10, "steps = 10000000");
  auto first = Egret(e, {"submit", Spec(e, "held-a", "finetune", "[data]\ntrain = \"DATA/train.h5\"\n" + training),
                         "--set", "resources.gpus_per_node=4", "--set", "resources.ranks_per_node=1"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  long a = JobId(first);
  ASSERT_TRUE(WaitUntil(a, [](const JobInfo& j) { return j.state == "RUNNING"; }, 60)) << GetJob(a)->reason;
  auto sub = Egret(e, {"submit", Spec(e, "held", "finetune", std::string("[data]\ntrain = \"DATA/train.h5\"\n") + kTraining),
                       "--set", "resources.gpus_per_node=4", "--set", "resources.ranks_per_node=1"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0);
  std::string why;
  for (int i = 0; i < 100 && why.empty(); ++i) {
    auto r = RunProcess({BuildDir() + "/bin/egretctl", "--json", "why", std::to_string(id)});
    if (r.ok() && r->exit_code == 0) {
      auto j = nlohmann::json::parse(r->out, nullptr, false);
      if (!j.is_discarded() && j.value("state", "") == "queued") why = j.value("reason", "");
    }
    if (why.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(why.empty()) << "egret-quotad never reported the job as queued";
  auto st = Status(e, std::to_string(id));
  EXPECT_EQ(st["state"], "PENDING");
  EXPECT_NE(st.value("quota_reason", "").find(why), std::string::npos) << st.dump(2) << "\nwhy: " << why;
  auto table = Egret(e, {"status"});
  EXPECT_NE(table.out.find(why.substr(0, 20)), std::string::npos) << table.out;
  RunAs("alice", {"scancel", std::to_string(id), std::to_string(a)});
}

TEST(EgretSubmit, JobspecThatDoesNotFitIsRefusedBeforeSbatch) {
  Env e;
  e.test = "jobspec-refuse";
  e.dir = MakeJobDir(e.test);
  e.view = ViewFor("acme", e.dir + "/view");
  std::string spec = Spec(e, "big", "finetune", std::string("[data]\ntrain = \"DATA/train.h5\"\n") + kTraining);
  auto r = Egret(e, {"submit", spec, "--set", "resources.partition=gpus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("resources.partition: \"gpus\" is not a partition of this cluster; did you mean \"gpu\"? "
                       "(partitions: cpu, gpu)"), std::string::npos) << r.err;
  r = Egret(e, {"submit", spec, "--set", "resources.gpus_per_node=8"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("8 GPUs per node asked, but no node of partition gpu has more than 4"), std::string::npos) << r.err;
  EXPECT_EQ(Trim(r.out), "");
  // egret.so's own refusals at submission reach the user unchanged.
  if (e.view.plugin) {
    r = Egret(e, {"submit", spec, "--set", "resources.nodes=2", "--set", "resources.gpus_per_node=4"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("egret submit: sbatch failed (exit 1): sbatch: error: egret: tenant acme can never get 8 "
                         "GPUs on gpu"), std::string::npos) << r.err;
    r = Egret(e, {"submit", spec, "--set", "tenant=initech"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("sbatch: error: egret: tenant initech"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace egret::testing
