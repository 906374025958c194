// egret-train finetune end to end on a tiny llama: it learns, its result does not depend on
// how a global batch is split over ranks and micro-batches, a preempted run resumes to the
// same bits, bad checkpoints are refused, and it reports progress, metrics and a plot.
// Runs the real binaries, under real mpirun for the multi-rank cases.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include "tests/finetune/support.h"

namespace egret::testing {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> Job(const TinyJob& j, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"finetune", "--config", j.job, "--threads", "1", "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string FinalCheckpoint(const std::string& out, int step) {
  char name[64];
  std::snprintf(name, sizeof name, "/checkpoints/step-%08d.h5", step);
  return out + name;
}

double MeanLoss(const std::vector<nlohmann::json>& recs, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += recs[i]["loss"].get<double>();
  return s / static_cast<double>(to - from);
}

TEST(Finetune, LossFallsOnALearnableTask) {
  TinyJob j = MakeTinyJob("learn");
  for (std::string mode : {"full", "lora"}) {
    std::string out = j.dir + "/out-" + mode;
    auto r = RunTrain(Job(j, {"--set", "train.mode=" + mode, "--set", "train.steps=40", "--set",
                              "optimizer.lr=" + std::string(mode == "full" ? "3e-3" : "2e-2"), "--output", out,
                              "--set", "eval.dataset=" + j.eval}));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto recs = TrainRecords(out + "/metrics.jsonl");
    ASSERT_EQ(recs.size(), 40u);
    double first = MeanLoss(recs, 0, 3), last = MeanLoss(recs, 37, 40);
    // ln(260) = 5.56 for a uniform guess; the alphabet is 26 letters, each determined by the last.
    EXPECT_GT(first, 4.5) << mode;
    EXPECT_LT(last, first - (mode == "full" ? 2.5 : 1.0)) << mode << ": " << first << " -> " << last;
    // Held-out lines: the evaluation at the end beats the untrained model's.
    auto before = RunTrain({"eval", "--model", j.model, "--dataset", j.eval, "--threads", "1"});
    ASSERT_EQ(before.exit_code, 0) << before.err;
    double untrained = nlohmann::json::parse(before.out)["eval_loss"].get<double>();
    double trained = -1;
    for (auto& rec : ReadJsonl(out + "/metrics.jsonl"))
      if (rec.value("type", "") == "eval") trained = rec["eval_loss"].get<double>();
    EXPECT_GT(trained, 0) << mode;
    EXPECT_LT(trained, untrained - 1.0) << mode;
    EXPECT_TRUE(fs::exists(out + (mode == "lora" ? "/adapter/adapter_model.safetensors" : "/model/model.safetensors")));
  }
}

TEST(Finetune, OneAndTwoRanksGiveTheSameWeights) {
  TinyJob j = MakeTinyJob("ranks");
  for (std::string mode : {"lora", "full"}) {
    // Global batch 8 of micro-batches of 2: 1 rank accumulates 4, 2 ranks accumulate 2 each.
    // LoRA runs with dropout 0.1, whose masks must follow the micro-batch, not the rank.
    std::string one = j.dir + "/one-" + mode, two = j.dir + "/two-" + mode;
    auto r1 = RunTrain(Job(j, {"--mode", mode, "--output", one}), 1);
    ASSERT_EQ(r1.exit_code, 0) << r1.out << r1.err;
    auto r2 = RunTrain(Job(j, {"--mode", mode, "--output", two}), 2);
    ASSERT_EQ(r2.exit_code, 0) << r2.out << r2.err;
    auto a = ReadCheckpointGroup(FinalCheckpoint(one, 12), "params");
    auto b = ReadCheckpointGroup(FinalCheckpoint(two, 12), "params");
    ASSERT_FALSE(a.empty());
    double diff = MaxRelDiff(a, b);
    std::printf("%s: 1 vs 2 ranks max relative difference %g\n", mode.c_str(), diff);
    EXPECT_LE(diff, 1e-6) << mode;
    // Training moved the weights (the comparison is not between two untouched copies).
    auto start = RunTrain(Job(j, {"--mode", mode, "--output", j.dir + "/zero-" + mode, "--steps", "1"}), 1);
    ASSERT_EQ(start.exit_code, 0) << start.err;
    EXPECT_GT(MaxRelDiff(a, ReadCheckpointGroup(FinalCheckpoint(j.dir + "/zero-" + mode, 1), "params")), 1e-3);
    auto m1 = TrainRecords(one + "/metrics.jsonl"), m2 = TrainRecords(two + "/metrics.jsonl");
    EXPECT_EQ(m1.front()["tokens"], m2.front()["tokens"]);
    EXPECT_NEAR(m1.back()["loss"].get<double>(), m2.back()["loss"].get<double>(), 1e-5);
  }
}

TEST(Finetune, GradientAccumulationMatchesOneLargeMicroBatch) {
  TinyJob j = MakeTinyJob("accum");
  for (std::string mode : {"full", "lora"}) {
    // 4 micro-batches of 1 row vs 1 of 4 rows: the loss is normalised by the target count of
    // the whole global batch (the rows hold different token counts), so the accumulated
    // gradient is the same. Compared at the gradient itself: Adam's first steps turn
    // rounding-level differences of near-zero gradients into full-size updates.
    std::vector<std::string> common = {"--mode", mode, "--set", "lora.dropout=0", "--set", "train.global_batch_size=4",
                                       "--steps", "3"};
    auto run = [&](const std::string& micro, const std::string& out) {
      auto args = common;
      args.insert(args.end(), {"--set", "train.micro_batch_size=" + micro, "--output", out, "--dump-gradients",
                               out + "-grads.h5"});
      return RunTrain(Job(j, args));
    };
    std::string a = j.dir + "/4x1-" + mode, b = j.dir + "/1x4-" + mode;
    auto ra = run("1", a);
    ASSERT_EQ(ra.exit_code, 0) << ra.err;
    auto rb = run("4", b);
    ASSERT_EQ(rb.exit_code, 0) << rb.err;
    auto ga = ReadCheckpointGroup(a + "-grads.h5", "grads"), gb = ReadCheckpointGroup(b + "-grads.h5", "grads");
    ASSERT_FALSE(ga.empty());
    // The whole gradient as one vector within 1e-6 (relative L2). Single tensors differ by
    // up to ~1.2e-6: 64-token GEMM sums with cancellation in another order, fp32's noise floor.
    double global = GlobalRelL2Diff(ga, gb), tensor = MaxRelL2Diff(ga, gb), elem = MaxRelDiff(ga, gb);
    std::printf("%s: 4x1 vs 1x4 gradient: relative L2 %g (worst tensor %g), max elementwise %g\n", mode.c_str(),
                global, tensor, elem);
    EXPECT_LE(global, 1e-6) << mode;
    EXPECT_LE(tensor, 1e-5) << mode;
    EXPECT_LE(elem, 1e-5) << mode;
    auto ma = TrainRecords(a + "/metrics.jsonl"), mb = TrainRecords(b + "/metrics.jsonl");
    for (size_t s = 0; s < 3; ++s) {
      EXPECT_NEAR(ma[s]["loss"].get<double>(), mb[s]["loss"].get<double>(), 1e-6 * ma[s]["loss"].get<double>());
      EXPECT_EQ(ma[s]["tokens"], mb[s]["tokens"]);
    }
    EXPECT_NEAR(ma[0]["grad_norm"].get<double>(), mb[0]["grad_norm"].get<double>(), 1e-6 * ma[0]["grad_norm"].get<double>());
  }
}

// Kills a run with SIGTERM once it has logged step K, resumes it, and compares the final
// checkpoint with an uninterrupted run's: parameters, moments and state, bit for bit.
void PreemptAndResume(int np) {
  TinyJob j = MakeTinyJob("preempt" + std::to_string(np));
  std::vector<std::string> base = {"--set", "train.steps=16"};
  std::string ref = j.dir + "/ref", cut = j.dir + "/cut";
  auto r = RunTrain(Job(j, [&] { auto v = base; v.insert(v.end(), {"--output", ref}); return v; }()), np);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  std::mt19937 rng(std::random_device{}());
  int k = 2 + static_cast<int>(rng() % 12);  // a random step in [2, 13]
  std::printf("stopping at step %d of 16 (%d rank(s))\n", k, np);
  auto args = base;
  args.insert(args.end(), {"--output", cut, "--set", "checkpoint.every_steps=5"});
  std::vector<std::string> a = {"finetune", "--config", j.job, "--threads", "1"};
  a.insert(a.end(), args.begin(), args.end());
  pid_t pid = SpawnTrain(a, np, j.dir + "/cut.log");
  bool signalled = false;
  for (int i = 0; i < 6000 && !signalled; ++i) {
    for (auto& rec : TrainRecords(cut + "/metrics.jsonl"))
      if (rec["step"].get<int>() >= k) signalled = true;
    if (!signalled) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(signalled) << "the run never reached step " << k;
  // One rank only: the others must learn of it through the step-boundary agreement.
  pid_t target = pid;
  if (np > 1) {
    auto kids = Children(pid);
    ASSERT_FALSE(kids.empty());
    target = kids.back();
  }
  kill(target, SIGTERM);
  int code = WaitExit(pid);
  std::ifstream log(j.dir + "/cut.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  ASSERT_EQ(code, 75) << text;
  EXPECT_NE(text.find("preempted by SIGTERM"), std::string::npos) << text;

  // Without --resume the run refuses to start over the checkpoints.
  auto refused = RunTrain(Job(j, args), np);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("already holds checkpoints"), std::string::npos) << refused.err;
  args.insert(args.end(), {"--resume", "auto"});
  auto resumed = RunTrain(Job(j, args), np);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;

  std::string ra = FinalCheckpoint(ref, 16), rb = FinalCheckpoint(cut, 16);
  for (const char* g : {"params", "adam_m", "adam_v"}) {
    auto x = ReadCheckpointGroup(ra, g), y = ReadCheckpointGroup(rb, g);
    ASSERT_FALSE(x.empty());
    EXPECT_EQ(x, y) << g << " differ after resuming from step " << k;
  }
  EXPECT_EQ(ReadCheckpointState(ra), ReadCheckpointState(rb));
  // The metrics read as one run: every step once.
  auto recs = TrainRecords(cut + "/metrics.jsonl");
  ASSERT_EQ(recs.size(), 16u);
  for (int s = 0; s < 16; ++s) EXPECT_EQ(recs[s]["step"], s + 1);
}

TEST(Finetune, PreemptedRunResumesBitwise) { PreemptAndResume(1); }
TEST(Finetune, PreemptedTwoRankRunResumesBitwise) { PreemptAndResume(2); }

TEST(Finetune, RefusesForeignOrDamagedCheckpoints) {
  TinyJob j = MakeTinyJob("refuse");
  auto r = RunTrain(Job(j, {"--steps", "4"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string ck = FinalCheckpoint(j.out, 4);

  auto other_lr = RunTrain(Job(j, {"--steps", "4", "--set", "optimizer.lr=0.5", "--resume", "auto"}));
  EXPECT_EQ(other_lr.exit_code, 1);
  EXPECT_EQ(other_lr.err, "egret-train finetune: " + ck +
                              ": checkpoint was written with other training settings: optimizer.lr = 0.01 in the "
                              "checkpoint, 0.5 in this job (resume with the original settings, or start a new run in "
                              "another output.dir)\n");

  auto other_mode = RunTrain(Job(j, {"--steps", "4", "--mode", "full", "--resume", "auto"}));
  EXPECT_EQ(other_mode.exit_code, 1);
  EXPECT_EQ(other_mode.err,
            "egret-train finetune: " + ck + ": checkpoint was written by a lora run; this job is train.mode = \"full\"\n");

  // The same architecture and tokenizer, one weight changed: another model all the same.
  std::string other_model = j.dir + "/other-model";
  fs::copy(j.model, other_model);
  {
    std::fstream f(other_model + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-8, std::ios::end);
    f.write("\x01\x02\x03\x04", 4);
  }
  auto foreign = RunTrain(Job(j, {"--steps", "4", "--model", other_model, "--resume", "auto"}));
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find(ck + ": checkpoint is for another model: written for " + j.model), std::string::npos)
      << foreign.err;

  auto size = fs::file_size(ck);
  fs::resize_file(ck, size - 100);
  auto truncated = RunTrain(Job(j, {"--steps", "4", "--resume", "auto"}));
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_EQ(truncated.err, "egret-train finetune: " + ck + ": truncated or altered: " + std::to_string(size - 100) +
                               " bytes, its marker says " + std::to_string(size) + "\n");

  auto explicit_missing = RunTrain(Job(j, {"--steps", "4", "--resume", j.dir + "/none.h5"}));
  EXPECT_EQ(explicit_missing.err, "egret-train finetune: " + j.dir + "/none.h5: no such checkpoint\n");
}

TEST(Finetune, ReportsProgressMetricsAndAPlot) {
  TinyJob j = MakeTinyJob("report");
  auto r = RunTrain({"finetune", "--config", j.job, "--threads", "1", "--set", "output.plot=true", "--set",
                     "eval.every_steps=6", "--set", "eval.dataset=" + j.eval});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::regex progress(R"(step 7/12 \| loss \d+\.\d{4} \| lr \d\.\d\de-\d\d \| \d+ tok/s \| ETA \d+s)");
  EXPECT_TRUE(std::regex_search(r.out, progress)) << r.out;
  auto lines = ReadJsonl(j.out + "/metrics.jsonl");
  int train = 0, eval = 0, ckpts = 0;
  for (auto& l : lines) {
    std::string t = l.value("type", "");
    train += t == "train";
    eval += t == "eval";
    ckpts += t == "checkpoint";
    if (t == "train") {
      for (const char* k : {"loss", "lr", "grad_norm", "tokens", "tokens_per_s", "epoch"}) EXPECT_TRUE(l.contains(k)) << k;
    }
    if (t == "eval") {
      EXPECT_GT(l["perplexity"].get<double>(), 1.0);
    }
  }
  EXPECT_EQ(train, 12);
  EXPECT_EQ(eval, 2);   // step 6, and the end
  EXPECT_EQ(ckpts, 3);  // steps 4, 8, 12
  EXPECT_EQ(lines.back()["type"], "end");
  EXPECT_EQ(lines.back()["status"], "finished");
  std::ifstream png(j.out + "/loss.png", std::ios::binary);
  char sig[8] = {};
  png.read(sig, 8);
  EXPECT_EQ(std::string(sig, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // Keep-last 2: steps 8 and 12 remain.
  EXPECT_FALSE(fs::exists(FinalCheckpoint(j.out, 4)));
  EXPECT_TRUE(fs::exists(FinalCheckpoint(j.out, 8)));

  // Without gnuplot the plot is skipped with a warning; the job still succeeds.
  ProcessOptions o;
  o.env = {"PATH=/nonexistent"};
  auto no_plot = RunProcess({Bin("egret-train"), "finetune", "--config", j.job, "--threads", "1", "--quiet", "--set",
                             "output.plot=true", "--output", j.dir + "/noplot", "--steps", "2"},
                            o);
  ASSERT_TRUE(no_plot.ok());
  EXPECT_EQ(no_plot->exit_code, 0) << no_plot->err;
  EXPECT_NE(no_plot->err.find("warning: no loss plot: gnuplot not found"), std::string::npos) << no_plot->err;
  EXPECT_FALSE(fs::exists(j.dir + "/noplot/loss.png"));
}

TEST(Finetune, ConfigErrorsExitWithTheirPlace) {
  TinyJob j = MakeTinyJob("badcfg", 20);
  auto r = RunTrain({"finetune", "--config", j.job, "--set", "lora.rank=3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "egret-train finetune: --set lora.rank=3: unknown key lora.rank (valid keys in [lora]: alpha, "
                   "dropout, r, target_modules)\n");
  auto usage = RunTrain({"finetune"});
  EXPECT_EQ(usage.exit_code, 2);
  auto bad_batch = RunTrain(Job(j, {"--set", "train.global_batch_size=6", "--set", "train.micro_batch_size=4"}));
  EXPECT_EQ(bad_batch.exit_code, 1);
  EXPECT_EQ(bad_batch.err, "egret-train finetune: " + j.job +
                               ": train.global_batch_size (6) must be a multiple of train.micro_batch_size x ranks (4 "
                               "x 1 = 4)\n");
}

}  // namespace
}  // namespace egret::testing
