// Fine-tuning on the local Slurm cluster, launched the Slurm way: `sbatch -N2` with one
// `srun --mpi=pmix` rank per emulated node, as the tenant alice. It ends with the weights of a
// 1-node run of the same job; preempted with a signal, it requeues itself and resumes to them.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "common/strings.h"
#include "tests/finetune/support.h"
#include "tests/finetune/tiny_model.h"
#include "tests/support/slurm.h"

namespace egret::testing {
namespace {
namespace fs = std::filesystem;

int NodeCount() {
  auto r = RunProcess({"sh", "-c", "sinfo -h -N -p cpu -o %N | sort -u | wc -l"});
  return r.ok() ? std::atoi(r->out.c_str()) : 0;
}

// A job directory every node and user can read (cluster nodes have private /tmp).
struct ClusterJob {
  std::string dir, job;
};

ClusterJob Prepare(const std::string& name, int steps) {
  ClusterJob c;
  c.dir = MakeJobDir(name);
  c.job = c.dir + "/job.toml";
  EXPECT_TRUE(WriteTinyModel(c.dir + "/model").ok());
  WriteLines(c.dir + "/data.jsonl", AlphabetLines(100, 11));
  auto r = RunData({"import", "--tokenizer", c.dir + "/model", "--input", c.dir + "/data.jsonl", "--output",
                    c.dir + "/train.h5", "--seq-len", "48", "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ofstream(c.job) << std::string(R"(version = 1
[model]
path = "model"
[data]
train = "train.h5"
[output]
dir = "out"
plot = false
[train]
mode = "lora"
seed = 9
steps = )" + std::to_string(steps) + R"(
micro_batch_size = 2
global_batch_size = 4
[lora]
r = 4
alpha = 8
dropout = 0.1
target_modules = ["q_proj", "v_proj", "up_proj"]
[optimizer]
lr = 1e-2
[schedule]
warmup_steps = 2
[checkpoint]
every_steps = 5
)");
  return c;
}

std::string Script(const ClusterJob& c, const std::string& out, bool requeue) {
  std::string s =
      "#!/bin/bash\n"
      "# Open MPI over the emulated nodes' network; leak checks off (asan builds).\n"
      "export OMPI_MCA_btl_tcp_if_include=10.77.0.0/24 OMPI_MCA_oob_tcp_if_include=10.77.0.0/24\n"
      "export ASAN_OPTIONS=detect_leaks=0\n"
      "echo hosts=$(srun -N2 --ntasks-per-node=1 hostname | sort -u | wc -l)\n"
      "srun --mpi=pmix " +
      Bin("egret-train") + " finetune --config " + c.job + " --output " + out +
      " --threads 1 --quiet --resume auto\n"
      "rc=$?\n"
      "echo \"attempt ${SLURM_RESTART_COUNT:-0} exit $rc\"\n";
  if (requeue) s += "if [ $rc -eq 75 ]; then scontrol requeue $SLURM_JOB_ID; fi\n";
  return s + "exit $rc\n";
}

std::string Final(const std::string& out, int step) {
  char name[64];
  std::snprintf(name, sizeof name, "/checkpoints/step-%08d.h5", step);
  return out + name;
}

TEST(FinetuneCluster, TwoNodesEndWithTheOneNodeWeights) {
  if (NodeCount() < 2) GTEST_SKIP() << "cluster has fewer than 2 nodes";
  ClusterJob c = Prepare("finetune-2node", 14);
  // The reference: one process, the same global batch as 2 micro-batches.
  auto one = RunTrain({"finetune", "--config", c.job, "--output", c.dir + "/out-1node", "--threads", "1", "--quiet"});
  ASSERT_EQ(one.exit_code, 0) << one.err;

  auto sub = SbatchAs("alice", {"-N2", "--ntasks-per-node=1", "-p", "cpu", "-o", c.dir + "/slurm.out"},
                      Script(c, c.dir + "/out-2node", false));
  ASSERT_GT(sub.job_id, 0) << sub.err;
  JobInfo job = WaitForJob(sub.job_id, 240);
  std::string log = ReadText(c.dir + "/slurm.out");
  ASSERT_EQ(job.state, "COMPLETED") << log;
  EXPECT_NE(log.find("hosts=2"), std::string::npos) << log;

  auto start = ReadJsonl(c.dir + "/out-2node/metrics.jsonl").front();
  EXPECT_EQ(start["ranks"], 2);
  EXPECT_EQ(start["grad_accum"], 1);
  auto a = ReadCheckpointGroup(Final(c.dir + "/out-1node", 14), "params");
  auto b = ReadCheckpointGroup(Final(c.dir + "/out-2node", 14), "params");
  ASSERT_FALSE(a.empty());
  double diff = MaxRelDiff(a, b);
  std::printf("1 node vs 2 nodes: max relative difference %g\n", diff);
  EXPECT_LE(diff, 1e-6);
  EXPECT_TRUE(fs::exists(c.dir + "/out-2node/adapter/adapter_model.safetensors"));
}

TEST(FinetuneCluster, PreemptedJobRequeuesAndResumes) {
  if (NodeCount() < 2) GTEST_SKIP() << "cluster has fewer than 2 nodes";
  // Enough steps that the signal lands mid-run (a tiny step takes milliseconds).
  const int steps = 80;
  ClusterJob c = Prepare("finetune-requeue", steps);
  auto one = RunTrain({"finetune", "--config", c.job, "--output", c.dir + "/out-1node", "--threads", "1", "--quiet"});
  ASSERT_EQ(one.exit_code, 0) << one.err;

  std::string out = c.dir + "/out-2node";
  auto sub = SbatchAs("alice",
                      {"-N2", "--ntasks-per-node=1", "-p", "cpu", "--requeue", "--open-mode=append", "-o",
                       c.dir + "/slurm.out"},
                      Script(c, out, true));
  ASSERT_GT(sub.job_id, 0) << sub.err;
  int k = 2 + static_cast<int>(std::random_device{}() % 10);
  std::printf("signalling the job's tasks (SIGUSR1) at step %d of %d\n", k, steps);
  bool reached = false;
  for (int i = 0; i < 2400 && !reached; ++i) {
    for (auto& rec : TrainRecords(out + "/metrics.jsonl"))
      if (rec["step"].get<int>() >= k) reached = true;
    if (!reached) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(reached) << ReadText(c.dir + "/slurm.out");
  // What `sbatch --signal=USR1@T` does at T seconds before the time limit.
  auto sig = RunProcess({"scancel", "--signal=USR1", std::to_string(sub.job_id)});
  ASSERT_TRUE(sig.ok() && sig->exit_code == 0) << (sig.ok() ? sig->err : sig.error().message());

  // The first attempt exits 75 and requeues the job; the second resumes and finishes.
  bool finished = false;
  for (int i = 0; i < 600 && !finished; ++i) {
    finished = ReadText(c.dir + "/slurm.out").find("attempt 1 exit 0") != std::string::npos;
    if (!finished) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::string log = ReadText(c.dir + "/slurm.out");
  ASSERT_TRUE(finished) << log;
  EXPECT_NE(log.find("attempt 0 exit 75"), std::string::npos) << log;
  WaitForJob(sub.job_id, 60);
  auto ends = ReadJsonl(out + "/metrics.jsonl");
  bool preempted = false;
  for (auto& e : ends) preempted |= e.value("type", "") == "end" && e.value("status", "") == "preempted";
  EXPECT_TRUE(preempted);
  auto a = ReadCheckpointGroup(Final(c.dir + "/out-1node", steps), "params");
  auto b = ReadCheckpointGroup(Final(out, steps), "params");
  ASSERT_FALSE(a.empty());
  double diff = MaxRelDiff(a, b);
  std::printf("1 node vs preempted-and-resumed 2 nodes: max relative difference %g\n", diff);
  EXPECT_LE(diff, 1e-6);
  auto recs = TrainRecords(out + "/metrics.jsonl");
  EXPECT_EQ(recs.size(), static_cast<size_t>(steps));
}

}  // namespace
}  // namespace egret::testing
