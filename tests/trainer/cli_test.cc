// egret-train inspect and score, run as a user would, against the reference expectations.
#include <gtest/gtest.h>

#include "common/process.h"
#include "tests/trainer/model_test_util.h"

namespace egret::trainer {
namespace {

using namespace testing;

std::string Bin() { return std::string(EGRET_BUILD_DIR) + "/bin/egret-train"; }

TEST(Cli, ScorePrintsWhatTheReferenceComputes) {
  const std::string dir = FixtureDir("llama_gqa_llama3");
  const auto want = ReadJson(dir + "/adapter_expected.json");
  auto r = RunProcess({Bin(), "score", "--model", dir, "--adapter", dir + "/adapter", "--tokens",
                       dir + "/tokens.json", "--grads", "--probe", "8", "--generate", "8",
                       "--prompt-len", std::to_string(want["args"]["prompt_len"].get<int>())});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->err;
  const auto got = nlohmann::json::parse(r->out);
  EXPECT_LE(RelErr(got["mean_loss"].get<double>(), want["mean_loss"].get<double>()), kLossRel);
  for (size_t i = 0; i < want["seq_loss"].size(); ++i)
    EXPECT_LE(RelErr(got["seq_loss"][i].get<double>(), want["seq_loss"][i].get<double>()), kLossRel);
  double worst = 0;
  for (size_t r = 0; r < want["logits"].size(); ++r)
    for (size_t t = 0; t < want["logits"][r].size(); ++t)
      for (size_t k = 0; k < 8; ++k)
        worst = std::max(worst, std::abs(got["logits"][r][t][k].get<double>() - want["logits"][r][t][k].get<double>()));
  EXPECT_LE(worst, kLogitAbs);
  ASSERT_EQ(got["grad_norms"].size(), want["grad_norms"].size());
  for (auto it = want["grad_norms"].begin(); it != want["grad_norms"].end(); ++it)
    EXPECT_LE(RelErr(got["grad_norms"][it.key()].get<double>(), it->get<double>()), kGradRel) << it.key();
  EXPECT_EQ(got["generated"], want["generated"]);
}

TEST(Cli, InspectDescribesTheModel) {
  auto r = RunProcess({Bin(), "inspect", FixtureDir("qwen2_swa_tied"), "--json"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->err;
  const auto j = nlohmann::json::parse(r->out);
  EXPECT_EQ(j["family"], "qwen2");
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["hidden_size"], 48);
  EXPECT_EQ(j["num_heads"], 4);
  EXPECT_EQ(j["num_kv_heads"], 2);
  EXPECT_EQ(j["head_dim"], 12);
  EXPECT_EQ(j["intermediate_size"], 100);
  EXPECT_EQ(j["vocab_size"], 211);
  EXPECT_EQ(j["tied_embeddings"], true);
  // 211*48 embeddings + 2 layers * (2*48 norms + q,o 48*48 + k,v 48*24 + biases 48+24+24
  // + mlp 3*48*100) + 48 final norm; no lm_head (tied).
  EXPECT_EQ(j["parameters"], 211 * 48 + 2 * (96 + 2 * 48 * 48 + 2 * 48 * 24 + 96 + 3 * 48 * 100) + 48);
  EXPECT_EQ(j["dtypes"]["F32"], 26);  // 1 + 2 * 12 + 1 tensors
  auto table = RunProcess({Bin(), "inspect", FixtureDir("llama_mha_bias_bf16")});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->exit_code, 0);
  EXPECT_NE(table->out.find("BF16 x"), std::string::npos) << table->out;
}

TEST(Cli, ErrorsGoToStderrWithAnExitCode) {
  auto r = RunProcess({Bin(), "score", "--model", "/nonexistent", "--tokens", "/nonexistent.json"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->err, "egret-train score: /nonexistent/config.json: cannot open: No such file or directory\n");
  auto u = RunProcess({Bin(), "score", "--model", FixtureDir("gpt2")});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->exit_code, 2);
}

}  // namespace
}  // namespace egret::trainer
