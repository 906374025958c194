// Every family against the reference implementation: logits, losses, gradient norms, greedy
// tokens; packed rows against the documents run separately.
#include <gtest/gtest.h>

#include "mpi_trainer/model/model.h"
#include "tests/trainer/model_test_util.h"

namespace egret::trainer {
namespace {

using namespace testing;

class Reference : public ::testing::TestWithParam<const char*> {};

TEST_P(Reference, MatchesLogitsLossGradientsAndGreedyTokens) {
  const std::string dir = FixtureDir(GetParam());
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok()) << model.error().message();
  ExpectScores(**model, Rows(ReadJson(dir + "/tokens.json")), ReadJson(dir + "/expected.json"));
}

TEST_P(Reference, PackedRowEqualsTheDocumentsRunSeparately) {
  const std::string dir = FixtureDir(GetParam());
  const auto expected = ReadJson(dir + "/expected.json");
  if (!expected.contains("packed")) GTEST_SKIP() << "no packed case in this fixture";
  const auto& p = expected["packed"];
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok()) << model.error().message();
  Batch b;
  b.rows = 1;
  b.tokens = p["tokens"].get<std::vector<int32_t>>();
  b.seq_len = static_cast<int>(b.tokens.size());
  b.positions = p["positions"].get<std::vector<int32_t>>();
  b.doc_ids = p["doc_ids"].get<std::vector<int32_t>>();
  b.labels = p["labels"].get<std::vector<int32_t>>();
  ASSERT_EQ(b.CountTargets(), p["targets"].get<int64_t>());
  std::vector<float> probe;
  ForwardOptions opt;
  opt.probe_k = 8;
  opt.probe_logits = &probe;
  (*model)->params().ZeroGrads();
  auto s = (*model)->ForwardBackward(b, 1.0f / static_cast<float>(b.CountTargets()), opt);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_LE(RelErr(s->loss_sum, p["loss_sum"].get<double>()), kLossRel);
  ExpectLogits(probe, 8, nlohmann::json::array({p["logits"]}));
  ExpectGradNorms(GradNorms((*model)->params()), p["grad_norms"]);

  // The helper that packs documents builds the same row.
  const size_t split = std::find(b.doc_ids.begin(), b.doc_ids.end(), 1) - b.doc_ids.begin();
  auto packed = PackedRow({std::vector<int32_t>(b.tokens.begin(), b.tokens.begin() + split),
                           std::vector<int32_t>(b.tokens.begin() + split, b.tokens.end())},
                          b.seq_len);
  ASSERT_TRUE(packed.ok()) << packed.error().message();
  EXPECT_EQ(packed->labels, b.labels);
  EXPECT_EQ(packed->positions, b.positions);
  EXPECT_EQ(packed->doc_ids, b.doc_ids);
}

TEST_P(Reference, ForwardOnlyGivesTheSameLossAndLogits) {
  const std::string dir = FixtureDir(GetParam());
  const auto expected = ReadJson(dir + "/expected.json");
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok()) << model.error().message();
  auto batch = CausalBatch(Rows(ReadJson(dir + "/tokens.json")));
  ASSERT_TRUE(batch.ok());
  std::vector<float> probe;
  ForwardOptions opt;
  opt.probe_k = 8;
  opt.probe_logits = &probe;
  auto s = (*model)->Forward(*batch, opt);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_LE(RelErr(s->loss_sum / s->targets, expected["mean_loss"].get<double>()), kLossRel);
  ExpectLogits(probe, 8, expected["logits"]);
  EXPECT_FALSE((*model)->params().has_grads());
}

INSTANTIATE_TEST_SUITE_P(Families, Reference,
                         ::testing::Values("gpt2", "llama_gqa_llama3", "llama_mha_bias_bf16",
                                           "mistral_swa_sharded", "qwen2_swa_tied", "qwen3_headdim"));

}  // namespace
}  // namespace egret::trainer
