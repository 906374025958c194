// Runs rendered batch scripts under bash, outside Slurm, with srun and scontrol replaced by
// recorders: checks what the heredoc really writes (job.toml read back with toml++, paths
// resolved from the EGRET_* variables, sweep values per array task, user text never
// expanded) and the requeue-on-75 logic. The real launch is covered by the slurm tests.
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "common/fs.h"
#include "common/process.h"
#include "jobspecs/render/sbatch.h"
#include "jobspecs/spec/parse.h"

namespace egret::jobspec {
namespace {

namespace fs = std::filesystem;

class RenderExec : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("egret-render-exec-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    for (const char* d : {"view/data", "view/models", "view/checkpoints", "bin", "runs"})
      fs::create_directories(root_ / d);
    Write("bin/srun", "#!/bin/bash\necho \"$@\" >>\"" + (root_ / "srun.args").string() +
                          "\"\nexit ${STUB_SRUN_EXIT:-0}\n");
    Write("bin/scontrol", "#!/bin/bash\necho \"$@\" >>\"" + (root_ / "scontrol.args").string() + "\"\n");
    ::chmod((root_ / "bin/srun").c_str(), 0755);
    ::chmod((root_ / "bin/scontrol").c_str(), 0755);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& rel, const std::string& text) {
    ASSERT_TRUE(WriteFileAtomic((root_ / rel).string(), text).ok());
  }
  std::string P(const std::string& rel) const { return (root_ / rel).string(); }

  ProcessResult Run(const std::string& spec_text, std::vector<std::string> env) {
    auto spec = ParseJobspecText(spec_text, "t.toml");
    if (!spec.ok()) {
      ADD_FAILURE() << spec.error().message();
      return {};
    }
    render::RenderOptions o{"/opt/egret", P("runs/") + spec->name, false};
    Write("job.sbatch", render::RenderJobScript(*spec, o));
    fs::create_directories(o.runs_dir);
    env.push_back("PATH=" + P("bin") + ":" + std::getenv("PATH"));
    for (const char* v : {"DATA", "MODELS", "CKPT"}) {
      std::string name = std::string("EGRET_") + v + "_DIR";
      bool overridden = false;
      for (const auto& e : env) overridden |= e.rfind(name + "=", 0) == 0;
      std::string dir = std::string(v) == "CKPT" ? "checkpoints" : std::string(v) == "DATA" ? "data" : "models";
      if (!overridden) env.push_back(name + "=" + P("view/" + dir));
    }
    ProcessOptions po;
    po.env = env;
    po.timeout_s = 30;
    auto r = RunProcess({"bash", P("job.sbatch")}, po);
    EXPECT_TRUE(r.ok());
    return *r;
  }

  fs::path root_;
};

const char* kSpec = R"(kind = "finetune"
name = "acme-lora"
tenant = "acme"
[resources]
partition = "gpu"
[model]
base = "models/tiny-llama"
[data]
train = 'data/acme/$HOME`id`\x.h5'
[training]
mode = "lora"
steps = 10
lr = 3e-4
schedule = "cosine"
[training.lora]
target_modules = ["q_proj", "v_proj"]
)";

TEST_F(RenderExec, JobTomlResolvesTheViewAndKeepsUserTextLiteral) {
  auto r = Run(kSpec, {"SLURM_JOB_ID=42"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  toml::table t = toml::parse_file(P("view/checkpoints/acme-lora/42/job.toml"));
  EXPECT_EQ(t.at_path("model.path").value_or(std::string()), P("view/models/tiny-llama"));
  // $HOME, `id` and the backslash arrive as written, unexpanded.
  EXPECT_EQ(t.at_path("data.train[0]").value_or(std::string()), P("view/data/acme/$HOME`id`\\x.h5"));
  EXPECT_EQ(t.at_path("version").value_or(int64_t{0}), 1);
  EXPECT_EQ(t.at_path("train.mode").value_or(std::string()), "lora");
  EXPECT_EQ(t.at_path("train.steps").value_or(int64_t{0}), 10);
  EXPECT_EQ(t.at_path("optimizer.lr").value_or(0.0), 3e-4);
  EXPECT_EQ(t.at_path("schedule.kind").value_or(std::string()), "cosine");
  EXPECT_EQ(t.at_path("lora.target_modules[1]").value_or(std::string()), "v_proj");
  EXPECT_EQ(t.at_path("output.dir").value_or(std::string()), P("view/checkpoints/acme-lora/42"));
  EXPECT_EQ(t.at_path("output.metrics").value_or(std::string()), P("runs/acme-lora/42/metrics.jsonl"));
  // The status directory gets the same config, for egret status.
  EXPECT_TRUE(fs::exists(P("runs/acme-lora/42/job.toml")));
  EXPECT_EQ(ReadFile(P("srun.args")).value(),
            "--mpi=pmix --kill-on-bad-exit=1 /opt/egret/bin/egret-train finetune --config " +
                P("view/checkpoints/acme-lora/42/job.toml") + " --resume auto\n");
  EXPECT_FALSE(fs::exists(P("scontrol.args")));
}

TEST_F(RenderExec, CheckpointedOnTheSignalRequeues) {
  auto r = Run(kSpec, {"SLURM_JOB_ID=42", "STUB_SRUN_EXIT=75"});
  EXPECT_EQ(r.exit_code, 75);
  EXPECT_EQ(ReadFile(P("scontrol.args")).value(), "requeue 42\n");
  EXPECT_NE(r.out.find("egret: checkpointed on SIGUSR1; requeueing job 42 to resume"), std::string::npos);
  // Any other failure is a failure, not a requeue.
  fs::remove(P("scontrol.args"));
  r = Run(kSpec, {"SLURM_JOB_ID=43", "STUB_SRUN_EXIT=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(P("scontrol.args")));
}

TEST_F(RenderExec, EachArrayTaskGetsItsCombination) {
  std::string spec = std::string(kSpec) + "r = [8, 16]\n";
  spec.replace(spec.find("lr = 3e-4"), 9, "lr = [1e-4, 3e-4]");
  // Task 3 = (lr index 1, rank index 1): 3e-4 and 16.
  auto r = Run(spec, {"SLURM_JOB_ID=53", "SLURM_ARRAY_JOB_ID=50", "SLURM_ARRAY_TASK_ID=3"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  toml::table t = toml::parse_file(P("view/checkpoints/acme-lora/50/3/job.toml"));
  EXPECT_EQ(t.at_path("optimizer.lr").value_or(0.0), 3e-4);
  EXPECT_EQ(t.at_path("lora.r").value_or(int64_t{0}), 16);
  EXPECT_EQ(t.at_path("output.metrics").value_or(std::string()), P("runs/acme-lora/50_3/metrics.jsonl"));
  r = Run(spec, {"SLURM_JOB_ID=51", "SLURM_ARRAY_JOB_ID=50", "SLURM_ARRAY_TASK_ID=0"});
  ASSERT_EQ(r.exit_code, 0);
  toml::table t0 = toml::parse_file(P("view/checkpoints/acme-lora/50/0/job.toml"));
  EXPECT_EQ(t0.at_path("optimizer.lr").value_or(0.0), 1e-4);
  EXPECT_EQ(t0.at_path("lora.r").value_or(int64_t{0}), 8);
  r = Run(spec, {"SLURM_JOB_ID=58", "SLURM_ARRAY_JOB_ID=50", "SLURM_ARRAY_TASK_ID=9"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("egret: array task 9 is not part of this sweep"), std::string::npos) << r.err;
}

TEST_F(RenderExec, RefusesToRunWithoutTheTenantView) {
  auto r = Run(kSpec, {"SLURM_JOB_ID=42", "EGRET_DATA_DIR="});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "egret: EGRET_DATA_DIR is not set: this job needs the tenant's view that the egret SPANK "
                   "plugin sets up\n");
  EXPECT_FALSE(fs::exists(P("srun.args")));
}

}  // namespace
}  // namespace egret::jobspec
