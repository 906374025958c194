// egret-train eval: exact match of greedy generations (checked line by line against the
// model's own greedy continuation from `score --generate`, decoded and compared here), loss and
// perplexity on an HDF5 set (against `score`'s mean loss on the same rows), sharded over ranks
// with the same result, and evaluation during training.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/strings.h"
#include "tests/finetune/support.h"

namespace egret::testing {
namespace {
namespace fs = std::filesystem;

const std::vector<std::string> kQA = {
    R"({"prompt": "klmn", "answer": "opq"})", R"({"prompt": "uvwx", "answer": " yza "})",
    R"({"prompt": "defgh", "answer": "ijk"})", R"({"prompt": "abc", "answer": "xyz"})",
    R"({"prompt": "qrs", "answer": "tuv"})"};

std::vector<int32_t> Encode(const std::string& tok, const std::string& text) {
  auto r = RunTrain({"tokenize", "--tokenizer", tok, "--text", text});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out)["ids"].get<std::vector<int32_t>>();
}

TEST(Eval, ExactMatchScoresGreedyContinuations) {
  TinyJob j = MakeTinyJob("eval-em");
  std::string qa = j.dir + "/qa.jsonl";
  WriteLines(qa, kQA);
  auto r = RunTrain({"finetune", "--config", j.job, "--threads", "1", "--quiet", "--mode", "full", "--steps", "40",
                     "--set", "optimizer.lr=3e-3", "--set", "eval.exact_match=" + qa, "--set", "eval.max_new_tokens=3",
                     "--set", "eval.every_steps=20", "--set", "eval.dataset=" + j.eval});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string model = j.out + "/model";

  // The expectation, line by line: the greedy continuation, decoded, compared after trimming.
  int expected_correct = 0;
  for (const auto& line : kQA) {
    auto q = nlohmann::json::parse(line);
    auto ids = Encode(model, q["prompt"]);
    std::string tokens = j.dir + "/p.json";
    std::ofstream(tokens) << nlohmann::json::array({ids}).dump();
    auto g = RunTrain({"score", "--model", model, "--tokens", tokens, "--generate", "3", "--threads", "1"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
    auto gen = nlohmann::json::parse(g.out)["generated"].get<std::vector<int32_t>>();
    auto d = RunTrain({"tokenize", "--tokenizer", model, "--decode", "--no-special", "--text", nlohmann::json(gen).dump()});
    std::string text = nlohmann::json::parse(d.out)["text"];
    expected_correct += Trim(text) == Trim(q["answer"].get<std::string>());
  }
  EXPECT_GE(expected_correct, 2) << "the model should have learned to continue the alphabet";
  EXPECT_LT(expected_correct, 5) << "\"abc\" -> \"xyz\" cannot match";

  for (int np : {1, 2}) {
    auto e = RunTrain({"eval", "--model", model, "--exact-match", qa, "--max-new-tokens", "3", "--dataset", j.eval,
                       "--threads", "1", "--output", j.dir + "/r.json"},
                      np);
    ASSERT_EQ(e.exit_code, 0) << e.err;
    auto res = nlohmann::json::parse(e.out);
    EXPECT_EQ(res["exact_match_total"], 5) << np;
    EXPECT_EQ(res["exact_match_correct"], expected_correct) << np;
    EXPECT_DOUBLE_EQ(res["exact_match"].get<double>(), expected_correct / 5.0);
    EXPECT_NEAR(res["perplexity"].get<double>(), std::exp(res["eval_loss"].get<double>()), 1e-9);
    EXPECT_EQ(nlohmann::json::parse(std::ifstream(j.dir + "/r.json")), res);
  }
  // During training: at step 20 and at the end, in the metrics.
  int evals = 0;
  for (auto& rec : ReadJsonl(j.out + "/metrics.jsonl")) {
    if (rec.value("type", "") != "eval") continue;
    ++evals;
    EXPECT_TRUE(rec.contains("exact_match") && rec.contains("eval_loss"));
    if (rec["step"] == 40) {
      EXPECT_EQ(rec["exact_match_correct"], expected_correct);
    }
  }
  EXPECT_EQ(evals, 2);
}

TEST(Eval, LossIsTheMeanNllOverTargetTokens) {
  // Rows of one whole document each: eval's mean over targets must be score's mean loss.
  TinyJob j = MakeTinyJob("eval-loss");
  std::string dir = j.dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 6; ++i) lines.push_back("{\"text\": \"" + std::string("abcdefghijklmnopqrstuvw").substr(i, 15) + "\"}");
  WriteLines(dir + "/rows.jsonl", lines);
  // 15 letters + EOS = 16 tokens = one row each.
  auto imp = RunData({"import", "--tokenizer", j.model, "--input", dir + "/rows.jsonl", "--output", dir + "/rows.h5",
                      "--seq-len", "16", "--quiet"});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 0; i < 6; ++i) {
    auto ids = Encode(j.model, std::string("abcdefghijklmnopqrstuvw").substr(i, 15));
    ids.push_back(258);  // <|im_end|>, the tokenizer's EOS
    rows.push_back(ids);
  }
  std::ofstream(dir + "/rows.json") << rows.dump();
  auto s = RunTrain({"score", "--model", j.model, "--tokens", dir + "/rows.json", "--threads", "1"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  double expected = nlohmann::json::parse(s.out)["mean_loss"].get<double>();
  for (int np : {1, 2}) {
    auto e = RunTrain({"eval", "--model", j.model, "--dataset", dir + "/rows.h5", "--micro-batch-size", "4", "--threads",
                       "1"},
                      np);
    ASSERT_EQ(e.exit_code, 0) << e.err;
    auto res = nlohmann::json::parse(e.out);
    EXPECT_EQ(res["eval_tokens"], 6 * 15);
    EXPECT_NEAR(res["eval_loss"].get<double>(), expected, 1e-5 * expected) << np;
  }
  // A job's checkpoint evaluates like its exported model.
  auto t = RunTrain({"finetune", "--config", j.job, "--threads", "1", "--quiet", "--mode", "full", "--steps", "3"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  auto from_ckpt = RunTrain({"eval", "--config", j.job, "--set", "train.mode=full", "--dataset", dir + "/rows.h5",
                             "--threads", "1"});
  auto from_model = RunTrain({"eval", "--model", j.out + "/model", "--dataset", dir + "/rows.h5", "--threads", "1"});
  ASSERT_EQ(from_ckpt.exit_code, 0) << from_ckpt.err;
  ASSERT_EQ(from_model.exit_code, 0) << from_model.err;
  EXPECT_EQ(nlohmann::json::parse(from_ckpt.out)["eval_loss"], nlohmann::json::parse(from_model.out)["eval_loss"]);
}

TEST(Eval, BadInputsAreNamed) {
  TinyJob j = MakeTinyJob("eval-bad", 20);
  WriteLines(j.dir + "/qa.jsonl", {R"({"prompt": "ab", "answer": "c"})", R"({"prompt": "x"})"});
  auto e = RunTrain({"eval", "--model", j.model, "--exact-match", j.dir + "/qa.jsonl", "--threads", "1"});
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_EQ(e.err, "egret-train eval: " + j.dir + "/qa.jsonl:2: needs a string \"answer\"\n");
  auto none = RunTrain({"eval", "--model", j.model});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err, "egret-train eval: nothing to evaluate: give --dataset and/or --exact-match\n");
  auto missing = RunTrain({"eval", "--model", j.model, "--dataset", j.dir + "/nope.h5", "--threads", "1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("egret-train eval: " + j.dir + "/nope.h5: ", 0), 0u) << missing.err;
}

}  // namespace
}  // namespace egret::testing
