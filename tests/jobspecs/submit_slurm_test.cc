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
#include "tests/support/slurm.h"

namespace egret::testing {
namespace {

namespace fs = std::filesystem;

struct Env {
  std::string dir;  // the test's directory (writable by everyone)
  std::string view;
};

void OpenUp(const std::string& path) {
  for (auto& p : fs::recursive_directory_iterator(path))
    ::chmod(p.path().c_str(), p.is_directory() ? 01777 : 0644);
  ::chmod(path.c_str(), 01777);
}

// The tenant's view: a tiny llama (byte tokenizer) as models/tiny, the alphabet task imported
// by egret-data as data/train.h5 and data/eval.h5, and a prompt/answer file data/qa.jsonl.
Env MakeEnv(const std::string& name) {
  Env e;
  e.dir = MakeJobDir(name);
  e.view = e.dir + "/view";
  for (const char* d : {"data", "models", "checkpoints"}) fs::create_directories(e.view + "/" + d);
  TinyJob t = MakeTinyJob(name, 160, 48);
  fs::copy(t.model, e.view + "/models/tiny", fs::copy_options::recursive);
  fs::copy_file(t.train, e.view + "/data/train.h5");
  fs::copy_file(t.eval, e.view + "/data/eval.h5");
  EXPECT_TRUE(WriteFileAtomic(e.view + "/data/qa.jsonl",
                              "{\"prompt\": \"abcdef\", \"answer\": \"ghij\"}\n"
                              "{\"prompt\": \"mnop\", \"answer\": \"qrst\"}\n").ok());
  OpenUp(e.view);
  fs::remove_all(t.dir);
  return e;
}

ProcessResult Egret(const Env& e, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BuildDir() + "/bin/egret"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.cwd = e.dir;
  // Without egret.so in this cluster, the tenant's view comes from the submitting
  // environment (sbatch exports it); the plugin sets the same variables itself.
  o.env = {"EGRET_DATA_DIR=" + e.view + "/data", "EGRET_MODELS_DIR=" + e.view + "/models",
           "EGRET_CKPT_DIR=" + e.view + "/checkpoints", "EGRET_PREFIX=" + BuildDir()};
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

std::string Spec(const Env& e, const std::string& name, const std::string& kind, const std::string& body) {
  std::string path = e.dir + "/" + name + ".toml";
  std::string text = "kind = \"" + kind + "\"\nname = \"" + name + "\"\ntenant = \"acme\"\n" +
                     "[resources]\npartition = \"gpu\"\nranks_per_node = 2\ngpus_per_node = 1\ntime_limit = \"10m\"\n"
                     "[model]\nbase = \"models/tiny\"\n[output]\ndir = \"runs\"\n" + body;
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
  Env e = MakeEnv("jobspec-pair");
  auto sub = Egret(e, {"submit", Spec(e, "ft", "finetune",
                                      std::string("[data]\ntrain = \"data/train.h5\"\n") + kTraining +
                                          "[eval]\ndataset = \"data/eval.h5\"\n[checkpoint]\ndir = \"checkpoints/{name}\"\n")});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0) << sub.out;
  JobInfo job = WaitForJob(id, 180);
  std::string log = Log(e, "ft", std::to_string(id));
  ASSERT_EQ(job.state, "COMPLETED") << log;
  EXPECT_EQ(job.fields["Account"], "acme");
  // Two ranks (srun --mpi=pmix) shared each step.
  EXPECT_NE(log.find("2 rank(s)"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(e.view + "/checkpoints/ft/adapter/adapter_config.json")) << log;
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
  const std::string sets = "[eval]\ndataset = \"data/eval.h5\"\nexact_match = \"data/qa.jsonl\"\nmax_new_tokens = 4\n";
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
  EXPECT_TRUE(fs::exists(e.view + "/checkpoints/ev-tuned/" + std::to_string(JobId(tuned)) + "/eval.json"));
}

TEST(EgretSubmit, SweepIsAnArrayWithPerTaskValuesAndDirectories) {
  Env e = MakeEnv("jobspec-sweep");
  std::string training = kTraining;
  training.replace(training.find("steps = 12"), 10, "steps = 4");
  training.replace(training.find("lr = 1e-2"), 9, "lr = [1e-3, 1e-2]");
  auto sub = Egret(e, {"submit", Spec(e, "sweep", "finetune", "[data]\ntrain = \"data/train.h5\"\n" + training),
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
    EXPECT_TRUE(fs::exists(e.view + "/checkpoints/sweep/" + std::to_string(id) + "/" + std::to_string(task) +
                           "/adapter/adapter_config.json"));
    EXPECT_EQ(st["progress"]["step"], 4);
  }
}

TEST(EgretSubmit, SignalCheckpointsRequeuesAndTheRerunResumes) {
  Env e = MakeEnv("jobspec-requeue");
  std::string training = kTraining;
  training.replace(training.find("steps = 12"), 10, "steps = 400");
  auto sub = Egret(e, {"submit", Spec(e, "rq", "finetune", "[data]\ntrain = \"data/train.h5\"\n" + training),
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

TEST(EgretSubmit, JobspecThatDoesNotFitIsRefusedBeforeSbatch) {
  Env e;
  e.dir = MakeJobDir("jobspec-refuse");
  e.view = e.dir + "/view";
  std::string spec = Spec(e, "big", "finetune", std::string("[data]\ntrain = \"data/train.h5\"\n") + kTraining);
  auto r = Egret(e, {"submit", spec, "--set", "resources.partition=gpus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("resources.partition: \"gpus\" is not a partition of this cluster; did you mean \"gpu\"? "
                       "(partitions: cpu, gpu)"), std::string::npos) << r.err;
  r = Egret(e, {"submit", spec, "--set", "resources.gpus_per_node=8"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("8 GPUs per node asked, but no node of partition gpu has more than 4"), std::string::npos) << r.err;
  EXPECT_EQ(Trim(r.out), "");
}

}  // namespace
}  // namespace egret::testing
