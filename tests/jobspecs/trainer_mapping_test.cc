// The job.toml a jobspec renders is read by egret-train's own parser (train::ParseJobConfig),
// after bash expands the heredoc: every [training] key lands on the trainer field it names,
// with the value written; every example (each array task of a sweep) is a valid job; a beta
// left out takes egret-train's own default. This pins the mapping in trainer/ to the trainer.
#include <string>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/process.h"
#include "jobspecs/render/shell.h"
#include "jobspecs/spec/parse.h"
#include "jobspecs/spec/sweep.h"
#include "jobspecs/spec/value_text.h"
#include "jobspecs/trainer/trainer_config.h"
#include "mpi_trainer/train/job_config.h"

namespace egret::jobspec {
namespace {

const char* kHead = R"(kind = "finetune"
tenant = "acme"
[resources]
partition = "gpu"
[model]
base = "models/tiny"
[data]
train = ["data/a.h5", "data/b.h5"]
)";

// job.toml as the job writes it: bash expands the heredoc with the job's variables.
Result<train::JobConfig> Trainer(const Jobspec& spec, int64_t task = 0) {
  std::vector<std::string> env = {"EGRET_DATA_DIR=/view/data", "EGRET_MODELS_DIR=/view/models",
                                  "EGRET_CKPT_DIR=/view/ckpt", "RUN_DIR=/view/ckpt/run", "STATUS_DIR=/runs/7"};
  for (const auto& [key, value] : SweepValues(spec, task))
    env.push_back(render::SweepVariable(key) + "=" + TomlValue(value));
  ProcessOptions o;
  o.env = env;
  o.stdin_data = "cat <<EOF\n" + trainer::JobConfig(spec) + "EOF\n";
  auto r = RunProcess({"bash", "-s"}, o);
  if (!r.ok()) return r.error();
  if (r->exit_code != 0) return Error("bash: " + r->err);
  return train::ParseJobConfig(r->out, "job.toml", "/nowhere");
}

train::JobConfig Parse(const std::string& training, const std::string& extra = "") {
  auto spec = ParseJobspecText(std::string(kHead) + extra + "[training]\n" + training, "t.toml");
  EXPECT_TRUE(spec.ok()) << spec.error().message();
  if (!spec.ok()) return {};
  auto c = Trainer(*spec);
  EXPECT_TRUE(c.ok()) << c.error().message();
  return c.ok() ? *c : train::JobConfig{};
}

TEST(TrainerMapping, PathsAndOutputs) {
  train::JobConfig c = Parse("steps = 5\n");
  EXPECT_EQ(c.model_path, "/view/models/tiny");
  ASSERT_EQ(c.datasets.size(), 2u);
  EXPECT_EQ(c.datasets[1], "/view/data/b.h5");
  EXPECT_EQ(c.output_dir, "/view/ckpt/run");
  EXPECT_EQ(c.metrics_path, "/runs/7/metrics.jsonl");
  EXPECT_EQ(c.checkpoint.dir, "/view/ckpt/run/checkpoints");
}

TEST(TrainerMapping, EveryTrainingKeyLandsOnItsField) {
  train::JobConfig c = Parse(
      "mode = \"full\"\nsteps = 7\nglobal_batch_size = 12\nmicro_batch_size = 3\nmax_grad_norm = 0.5\n"
      "seed = 42\nlr = 3e-4\nbeta1 = 0.8\nbeta2 = 0.95\neps = 1e-6\nweight_decay = 0.01\nschedule = \"linear\"\n"
      "warmup_steps = 3\nmin_lr = 1e-5\n");
  EXPECT_EQ(c.mode, train::Mode::kFull);
  EXPECT_EQ(c.steps, 7);
  EXPECT_EQ(c.global_batch_size, 12);
  EXPECT_EQ(c.micro_batch_size, 3);
  EXPECT_EQ(c.max_grad_norm, 0.5);
  EXPECT_EQ(c.seed, 42);
  EXPECT_EQ(c.optimizer.lr, 3e-4);
  EXPECT_EQ(c.optimizer.beta1, 0.8);
  EXPECT_EQ(c.optimizer.beta2, 0.95);
  EXPECT_EQ(c.optimizer.eps, 1e-6);
  EXPECT_EQ(c.optimizer.weight_decay, 0.01);
  EXPECT_EQ(c.schedule.kind, train::ScheduleKind::kLinear);
  EXPECT_EQ(c.schedule.warmup_steps, 3);
  EXPECT_EQ(c.schedule.min_lr, 1e-5);

  train::JobConfig e = Parse("epochs = 1.5\ngrad_accum = 4\n[training.lora]\nr = 16\nalpha = 32\ndropout = 0.1\n"
                             "target_modules = [\"q_proj\", \"v_proj\", \"o_proj\"]\n");
  EXPECT_EQ(e.epochs, 1.5);
  EXPECT_EQ(e.grad_accum, 4);
  EXPECT_EQ(e.lora.r, 16);
  EXPECT_EQ(e.lora.alpha, 32);
  EXPECT_EQ(e.lora.dropout, 0.1);
  EXPECT_EQ(e.lora.target_modules, (std::vector<std::string>{"q_proj", "v_proj", "o_proj"}));

  train::JobConfig regex = Parse("steps = 1\n[training.lora]\ntarget_modules = \"all-linear\"\n");
  EXPECT_EQ(regex.lora.target_regex, "all-linear");
  EXPECT_TRUE(regex.lora.target_modules.empty());
}

TEST(TrainerMapping, AMissingBetaTakesTheTrainersDefault) {
  train::OptimizerConfig defaults;
  EXPECT_EQ(Parse("steps = 1\nbeta2 = 0.95\n").optimizer.beta1, defaults.beta1);
  EXPECT_EQ(Parse("steps = 1\nbeta1 = 0.8\n").optimizer.beta2, defaults.beta2);
}

TEST(TrainerMapping, CheckpointAndEvalSettings) {
  train::JobConfig c = Parse("steps = 10\n",
                             "[checkpoint]\nevery_steps = 5\nkeep_last = 4\n"
                             "[eval]\ndataset = \"data/e.h5\"\nexact_match = \"data/qa.jsonl\"\nmax_new_tokens = 9\n"
                             "every_steps = 5\nchat = true\n");
  EXPECT_EQ(c.checkpoint.every_steps, 5);
  EXPECT_EQ(c.checkpoint.keep_last, 4);
  EXPECT_EQ(c.eval.dataset, "/view/data/e.h5");
  EXPECT_EQ(c.eval.exact_match, "/view/data/qa.jsonl");
  EXPECT_EQ(c.eval.max_new_tokens, 9);
  EXPECT_EQ(c.eval.every_steps, 5);
  EXPECT_TRUE(c.eval.chat);
}

TEST(TrainerMapping, EveryExampleAndEverySweepTaskIsAValidJob) {
  for (const char* name : {"finetune-lora", "finetune-sweep", "finetune-full-2node", "benchmark-finetune-steps"}) {
    auto spec = ParseJobspecFile(std::string(EGRET_SOURCE_DIR) + "/jobspecs/examples/" + name + ".toml");
    ASSERT_TRUE(spec.ok()) << spec.error().message();
    for (int64_t t = 0; t < spec->TaskCount(); ++t) {
      auto c = Trainer(*spec, t);
      ASSERT_TRUE(c.ok()) << name << " task " << t << ": " << c.error().message();
      if (std::string(name) == "finetune-sweep") {
        // The task's own values, as the header comment lists them.
        const double lrs[] = {1e-4, 1e-4, 3e-4, 3e-4, 1e-3, 1e-3};
        EXPECT_EQ(c->optimizer.lr, lrs[t]);
        EXPECT_EQ(c->lora.r, t % 2 == 0 ? 8 : 16);
      }
    }
  }
}

}  // namespace
}  // namespace egret::jobspec
