// job.toml: the example file loads, overrides apply, and every kind of mistake is reported
// with its place, the key and the valid choices. Also the schedule and the data order, with
// worked numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "mpi_trainer/train/data_order.h"
#include "mpi_trainer/train/job_config.h"
#include "mpi_trainer/train/schedule.h"

namespace egret::train {
namespace {

const char* kMinimal = R"(version = 1
[model]
path = "models/tiny"
[data]
train = "data/train.h5"
[output]
dir = "/runs/x"
[train]
steps = 10
)";

std::string ErrorOf(const std::string& text, const std::vector<std::string>& overrides = {}) {
  auto r = ParseJobConfig(text, "job.toml", "/jobs", overrides);
  return r.ok() ? "accepted" : r.error().message();
}

TEST(JobConfig, TheExampleFileLoads) {
  auto c = LoadJobConfig(std::string(EGRET_SOURCE_DIR) + "/mpi_trainer/train/job.example.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->mode, Mode::kLora);
  EXPECT_GT(c->steps, 0);
  EXPECT_FALSE(c->lora.target_modules.empty());
}

TEST(JobConfig, DefaultsAndPathsResolve) {
  auto c = ParseJobConfig(kMinimal, "job.toml", "/jobs");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->model_path, "/jobs/models/tiny");
  EXPECT_EQ(c->datasets, std::vector<std::string>{"/jobs/data/train.h5"});
  EXPECT_EQ(c->metrics_path, "/runs/x/metrics.jsonl");
  EXPECT_EQ(c->checkpoint.dir, "/runs/x/checkpoints");
  EXPECT_EQ(c->mode, Mode::kLora);
  EXPECT_EQ(c->lora.r, 8);
  EXPECT_DOUBLE_EQ(c->optimizer.beta2, 0.999);
}

TEST(JobConfig, OverridesReplaceFileValues) {
  auto c = ParseJobConfig(kMinimal, "job.toml", "/jobs",
                          {"train.steps=25", "lora.target_modules=[\"q_proj\", \"o_proj\"]", "optimizer.betas=[0.9, 0.95]",
                           "train.mode=full", "output.dir=/elsewhere", "schedule.kind=linear"});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->steps, 25);
  EXPECT_EQ(c->lora.target_modules, (std::vector<std::string>{"q_proj", "o_proj"}));
  EXPECT_DOUBLE_EQ(c->optimizer.beta2, 0.95);
  EXPECT_EQ(c->mode, Mode::kFull);
  EXPECT_EQ(c->output_dir, "/elsewhere");
  EXPECT_EQ(c->schedule.kind, ScheduleKind::kLinear);
}

TEST(JobConfig, MistakesNameTheirPlace) {
  std::string base = kMinimal;  // 9 lines; [train] is open at the end
  EXPECT_EQ(ErrorOf(base + "[lora]\nrank = 8\n"),
            "job.toml:11: unknown key lora.rank (valid keys in [lora]: alpha, dropout, r, target_modules)");
  EXPECT_EQ(ErrorOf(base + "[lorra]\nr = 8\n"),
            "job.toml:10: unknown section [lorra] (valid sections: checkpoint, data, eval, lora, model, optimizer, "
            "output, schedule, train)");
  EXPECT_EQ(ErrorOf(base + "learning_rate = 1\n"),
            "job.toml:10: unknown key train.learning_rate (valid keys in [train]: epochs, global_batch_size, "
            "grad_accum, max_grad_norm, micro_batch_size, mode, seed, steps)");
  EXPECT_EQ(ErrorOf(base + "micro_batch_size = \"4\"\n"), "job.toml:10: train.micro_batch_size must be an integer (got \"4\")");
  EXPECT_EQ(ErrorOf(base + "mode = \"qlora\"\n"), "job.toml:10: train.mode must be one of lora, full (got \"qlora\")");
  EXPECT_EQ(ErrorOf(base + "max_grad_norm = -1\n"), "job.toml:10: train.max_grad_norm must be >= 0 (got -1)");
  EXPECT_EQ(ErrorOf(base + "epochs = 2\n"), "job.toml:10: give train.steps or train.epochs, not both");
  // Every problem at once, in file order.
  EXPECT_EQ(ErrorOf(base + "[lora]\ndropout = 1.0\nr = 0\n"),
            "job.toml:11: lora.dropout must be >= 0 and < 1 (got 1)\njob.toml:12: lora.r must be >= 1 (got 0)");
  EXPECT_EQ(ErrorOf(base + "[optimizer]\nbetas = [0.9]\nlr = 0\n"),
            "job.toml:11: optimizer.betas must be a list of two numbers (got [0.9])\n"
            "job.toml:12: optimizer.lr must be > 0 (got 0)");
  EXPECT_EQ(ErrorOf(base + "[schedule]\nkind = 3\n"), "job.toml:11: schedule.kind must be one of cosine, linear, constant (got 3)");
  EXPECT_EQ(ErrorOf(base + "[eval]\nevery_steps = 5\n"),
            "job.toml:11: eval.every_steps is set but neither eval.dataset nor eval.exact_match is");
  EXPECT_EQ(ErrorOf(base + "x = [1,\n"), "job.toml:10: Error while parsing array: encountered end-of-file");
  EXPECT_EQ(ErrorOf("version = 2\nlora = 3\nfoo = 1\n"),
            "job.toml:2: lora must be a section ([lora]), not a value\n"
            "job.toml:3: unknown key foo (valid top-level keys: version; sections: checkpoint, data, eval, lora, model, "
            "optimizer, output, schedule, train)");
  EXPECT_EQ(ErrorOf("version = 2\n"),
            "job.toml:1: version 2 is not supported (this egret-train reads version 1)\n"
            "job.toml: model.path is required (a Hugging Face model directory)\n"
            "job.toml: data.train is required (one or more datasets from egret-data import)\n"
            "job.toml: output.dir is required (where checkpoints, exports and metrics go)\n"
            "job.toml: one of train.steps or train.epochs is required (and must be > 0)");
}

TEST(JobConfig, OverrideMistakesNameTheArgument) {
  EXPECT_EQ(ErrorOf(kMinimal, {"train.steps=abc"}), "--set train.steps=abc: train.steps must be an integer (got \"abc\")");
  EXPECT_EQ(ErrorOf(kMinimal, {"lora.r"}), "--set lora.r: expected key=value, e.g. --set train.steps=100");
  EXPECT_EQ(ErrorOf(kMinimal, {"bogus.key=1"}),
            "--set bogus.key=1: unknown section [bogus] (valid sections: checkpoint, data, eval, lora, model, "
            "optimizer, output, schedule, train)");
  EXPECT_EQ(ErrorOf(kMinimal, {"train.mode=full", "model.adapter=/a"}),
            "--set model.adapter=/a: model.adapter needs train.mode = \"lora\" (to train a full model from a merged "
            "adapter, merge it first: egret-train export --merged)");
}

TEST(JobConfig, BatchPlanDependsOnRanksButNotTheGlobalBatch) {
  auto c = ParseJobConfig(kMinimal, "job.toml", "/jobs", {"train.micro_batch_size=2", "train.global_batch_size=8"});
  ASSERT_TRUE(c.ok()) << c.error().message();
  auto one = PlanBatches(*c, 1), two = PlanBatches(*c, 2), four = PlanBatches(*c, 4);
  ASSERT_TRUE(one.ok() && two.ok() && four.ok());
  EXPECT_EQ(one->grad_accum, 4);
  EXPECT_EQ(two->grad_accum, 2);
  EXPECT_EQ(four->grad_accum, 1);
  EXPECT_EQ(TrajectorySettings(*c, *one), TrajectorySettings(*c, *four));
  auto three = PlanBatches(*c, 3);
  ASSERT_FALSE(three.ok());
  EXPECT_EQ(three.error().message(),
            "job.toml: train.global_batch_size (8) must be a multiple of train.micro_batch_size x ranks (2 x 3 = 6)");
}

TEST(Schedule, WarmupThenDecayToMinLr) {
  ScheduleConfig s{ScheduleKind::kCosine, 10, 1e-4};
  // Warmup: step k of 10 uses k/10 of the rate.
  EXPECT_DOUBLE_EQ(LearningRate(s, 1e-3, 1, 110), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRate(s, 1e-3, 5, 110), 5e-4);
  EXPECT_DOUBLE_EQ(LearningRate(s, 1e-3, 10, 110), 1e-3);
  // Cosine: halfway through the 100 decay steps, min + (max - min) / 2; the last step is min.
  EXPECT_NEAR(LearningRate(s, 1e-3, 60, 110), 5.5e-4, 1e-15);
  EXPECT_NEAR(LearningRate(s, 1e-3, 35, 110), 1e-4 + 9e-4 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_NEAR(LearningRate(s, 1e-3, 110, 110), 1e-4, 1e-15);
  s.kind = ScheduleKind::kLinear;
  EXPECT_NEAR(LearningRate(s, 1e-3, 35, 110), 1e-4 + 9e-4 * 0.75, 1e-15);
  s.kind = ScheduleKind::kConstant;
  EXPECT_DOUBLE_EQ(LearningRate(s, 1e-3, 77, 110), 1e-3);
  s.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(LearningRate(s, 1e-3, 1, 110), 1e-3);
}

TEST(DataOrder, EachEpochIsAPermutationFixedByTheSeed) {
  DataOrder a(1000, 42), b(1000, 42), c(1000, 43);
  std::set<int64_t> epoch0, epoch1;
  int same_as_c = 0, moved = 0;
  for (int64_t p = 0; p < 1000; ++p) {
    int64_t r = a.RowAt(p);
    EXPECT_EQ(r, b.RowAt(p));
    same_as_c += r == c.RowAt(p);
    moved += r != p;
    epoch0.insert(r);
  }
  for (int64_t p = 1000; p < 2000; ++p) epoch1.insert(a.RowAt(p));
  EXPECT_EQ(epoch0.size(), 1000u);
  EXPECT_EQ(epoch1.size(), 1000u);
  EXPECT_NE(a.Permutation(0), a.Permutation(1));
  EXPECT_LT(same_as_c, 20);  // ~1 expected for independent permutations
  EXPECT_GT(moved, 950);
}

TEST(DataOrder, RankSlicesOfOneGlobalBatchMatchAccumulatedMicroBatches) {
  // Global batch 8, micro 2: 1 rank x 4 micro-batches sees positions 8..15 of step 1 in the
  // same micro-batch grouping as 4 ranks x 1 micro-batch.
  for (int m = 0; m < 4; ++m)
    for (int i = 0; i < 2; ++i)
      EXPECT_EQ(StreamPosition(1, 8, 0, 4, 2, m, i), StreamPosition(1, 8, m, 1, 2, 0, i));
  EXPECT_EQ(StreamPosition(1, 8, 0, 4, 2, 0, 0), 8);
  EXPECT_EQ(StreamPosition(1, 8, 3, 1, 2, 0, 1), 15);
}

}  // namespace
}  // namespace egret::train
