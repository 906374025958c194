// `egret submit` and `egret status` on the real local cluster, as the unprivileged user
// alice: a rendered job runs (srun --mpi=pmix, 2 ranks), a sweep becomes an array whose
// tasks get their own values and directories, exit status 75 requeues the job and the rerun
// finishes, a jobspec that does not fit the cluster is refused before sbatch.
// The trainer is fake_trainer/egret-train (it writes egret-train's metrics lines) while
// this build has no egret-train of its own.
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/strings.h"
#include "tests/support/slurm.h"

namespace egret::testing {
namespace {

namespace fs = std::filesystem;

struct Env {
  std::string dir;  // the test's directory (writable by everyone)
  std::string prefix;
};

Env MakeEnv(const std::string& name) {
  Env e;
  e.dir = MakeJobDir(name);
  for (const char* d : {"view/data", "view/models", "view/checkpoints", "prefix/bin"}) {
    fs::create_directories(e.dir + "/" + d);
    ::chmod((e.dir + "/" + d).c_str(), 01777);
  }
  e.prefix = e.dir + "/prefix";
  fs::copy_file(SourceDir() + "/tests/jobspecs/fake_trainer/egret-train", e.prefix + "/bin/egret-train");
  ::chmod((e.prefix + "/bin/egret-train").c_str(), 0755);
  return e;
}

ProcessResult Egret(const Env& e, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BuildDir() + "/bin/egret"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.cwd = e.dir;
  // Without egret.so in this cluster, the tenant's view comes from the submitting
  // environment (sbatch exports it); the plugin sets the same variables itself.
  o.env = {"EGRET_DATA_DIR=" + e.dir + "/view/data", "EGRET_MODELS_DIR=" + e.dir + "/view/models",
           "EGRET_CKPT_DIR=" + e.dir + "/view/checkpoints", "EGRET_PREFIX=" + e.prefix};
  return RunAs("alice", argv, o);
}

long JobId(const ProcessResult& r) {
  std::string out(Trim(r.out));
  return out.empty() || out.find_first_not_of("0123456789") != std::string::npos ? -1 : std::stol(out);
}

std::string Spec(const Env& e, const std::string& name, const std::string& extra) {
  std::string path = e.dir + "/" + name + ".toml";
  std::string text = "kind = \"finetune\"\nname = \"" + name + "\"\ntenant = \"acme\"\n"
                     "[resources]\npartition = \"gpu\"\nranks_per_node = 2\ngpus_per_node = 1\ntime_limit = \"5m\"\n"
                     "[model]\nbase = \"models/tiny\"\n[data]\ntrain = \"data/train.h5\"\n"
                     "[output]\ndir = \"runs\"\n" + extra;
  EXPECT_TRUE(WriteFileAtomic(path, text).ok());
  ::chmod(path.c_str(), 0644);
  return path;
}

TEST(EgretSubmit, RenderedJobRunsAndStatusShowsIt) {
  Env e = MakeEnv("jobspec-submit");
  auto sub = Egret(e, {"submit", Spec(e, "acme-lora", "[training]\nsteps = 3\nlr = 2e-4\n")});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0) << sub.out;
  JobInfo job = WaitForJob(id, 60);
  std::string log = ReadText(e.dir + "/runs/acme-lora/" + std::to_string(id) + ".out");
  ASSERT_EQ(job.state, "COMPLETED") << log;
  EXPECT_EQ(job.fields["Account"], "acme");
  // srun --mpi=pmix started one rank per task: 2 ranks, each with the rendered config.
  EXPECT_NE(log.find("rank 0 of 2"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 1 of 2"), std::string::npos) << log;
  std::string run_dir = e.dir + "/view/checkpoints/acme-lora/" + std::to_string(id);
  EXPECT_TRUE(fs::exists(run_dir + "/job.toml"));
  EXPECT_NE(log.find("config " + run_dir + "/job.toml"), std::string::npos) << log;

  auto st = Egret(e, {"status", std::to_string(id), "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto j = nlohmann::json::parse(st.out);
  EXPECT_EQ(j["state"], "COMPLETED");
  EXPECT_EQ(j["tenant"], "acme");
  EXPECT_EQ(j["progress"]["step"], 3);
  EXPECT_EQ(j["progress"]["total"], 3);
  EXPECT_EQ(j["progress"]["loss"], 7.5);
  auto table = Egret(e, {"status"});
  EXPECT_NE(table.out.find(std::to_string(id)), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("3/3"), std::string::npos) << table.out;
}

TEST(EgretSubmit, SweepIsAnArrayWithPerTaskValuesAndDirectories) {
  Env e = MakeEnv("jobspec-sweep");
  auto sub = Egret(e, {"submit", Spec(e, "sweep", "[training]\nsteps = 2\nlr = [1e-4, 3e-4]\n"),
                       "--set", "resources.ranks_per_node=1"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0);
  for (int task = 0; task < 2; ++task) {
    std::string dir = e.dir + "/view/checkpoints/sweep/" + std::to_string(id) + "/" + std::to_string(task);
    // Array tasks get their own job ids; wait on the files they write.
    for (int i = 0; i < 300 && !fs::exists(e.dir + "/runs/sweep/" + std::to_string(id) + "_" + std::to_string(task) + "/metrics.jsonl"); ++i)
      usleep(100000);
    std::string log = ReadText(e.dir + "/runs/sweep/" + std::to_string(id) + "_" + std::to_string(task) + ".out");
    EXPECT_NE(log.find(task == 0 ? "lr 1e-4" : "lr 3e-4"), std::string::npos) << log;
    EXPECT_TRUE(fs::exists(dir + "/job.toml")) << dir;
  }
  auto st = Egret(e, {"status", std::to_string(id) + "_1", "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(nlohmann::json::parse(st.out)["job_id"], std::to_string(id) + "_1");
}

TEST(EgretSubmit, CheckpointedOnSignalRequeuesAndTheRerunFinishes) {
  Env e = MakeEnv("jobspec-requeue");
  // The run directory asks the fake trainer to exit 75 once.
  fs::create_directories(e.dir + "/view/checkpoints/rq");
  ::chmod((e.dir + "/view/checkpoints/rq").c_str(), 01777);
  ASSERT_TRUE(WriteFileAtomic(e.dir + "/view/checkpoints/rq/preempt-once", "").ok());
  auto sub = Egret(e, {"submit", Spec(e, "requeue", "[training]\nsteps = 2\n[checkpoint]\ndir = \"checkpoints/rq\"\n"),
                       "--set", "resources.ranks_per_node=1"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = JobId(sub);
  ASSERT_GT(id, 0);
  // The requeued job waits out the credential lifetime (10 s here) before it runs again.
  JobInfo job;
  for (int i = 0; i < 3; ++i) {
    job = WaitForJob(id, 60);
    if (job.state == "COMPLETED") break;
  }
  std::string log = ReadText(e.dir + "/runs/requeue/" + std::to_string(id) + ".out");
  EXPECT_EQ(job.state, "COMPLETED") << log;
  EXPECT_EQ(job.fields["Restarts"], "1") << log;
  EXPECT_NE(log.find("egret: checkpointed on SIGUSR1; requeueing job " + std::to_string(id) + " to resume"),
            std::string::npos) << log;
}

TEST(EgretSubmit, JobspecThatDoesNotFitIsRefusedBeforeSbatch) {
  Env e = MakeEnv("jobspec-refuse");
  auto r = Egret(e, {"submit", Spec(e, "big", "[training]\nsteps = 1\n"), "--set", "resources.partition=gpus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("resources.partition: \"gpus\" is not a partition of this cluster; did you mean \"gpu\"? "
                       "(partitions: cpu, gpu)"), std::string::npos) << r.err;
  r = Egret(e, {"submit", Spec(e, "big", "[training]\nsteps = 1\n"), "--set", "resources.gpus_per_node=8"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("8 GPUs per node asked, but no node of partition gpu has more than 4"), std::string::npos) << r.err;
  EXPECT_EQ(Trim(r.out), "");
}

}  // namespace
}  // namespace egret::testing
