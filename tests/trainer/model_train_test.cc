// The training contract issue 4 builds on: gradient accumulation with a caller-given scale,
// determinism, AdamW against torch.optim.AdamW, and load/batch errors.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mpi_trainer/io/safetensors.h"
#include "mpi_trainer/io/weights.h"
#include "mpi_trainer/model/lora.h"
#include "mpi_trainer/model/model.h"
#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/optim/adamw.h"
#include "tests/trainer/model_test_util.h"

namespace egret::trainer {
namespace {

using namespace testing;

std::vector<float> Grads(Model& m) {
  const ParamStore& p = m.params();
  return std::vector<float>(p.grad_if_any(0), p.grad_if_any(0) + p.size());
}

TEST(Training, MicroBatchesAccumulateToTheWholeBatch) {
  const std::string dir = FixtureDir("qwen3_headdim");
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok());
  const auto rows = Rows(ReadJson(dir + "/tokens.json"));
  auto whole = CausalBatch(rows);
  auto first = CausalBatch({rows[0], rows[1]});
  auto second = CausalBatch({rows[2]});
  ASSERT_TRUE(whole.ok() && first.ok() && second.ok());
  const float scale = 1.0f / static_cast<float>(whole->CountTargets());
  ParamStore& p = (*model)->params();
  p.ZeroGrads();
  auto s = (*model)->ForwardBackward(*whole, scale);
  ASSERT_TRUE(s.ok());
  const std::vector<float> g_whole = Grads(**model);
  p.ZeroGrads();
  auto s1 = (*model)->ForwardBackward(*first, scale);
  auto s2 = (*model)->ForwardBackward(*second, scale);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(s1->targets + s2->targets, s->targets);
  EXPECT_NEAR(s1->loss_sum + s2->loss_sum, s->loss_sum, 1e-6 * s->loss_sum);
  const std::vector<float> g_acc = Grads(**model);
  double num = 0, den = 0;
  for (size_t i = 0; i < g_whole.size(); ++i) {
    num += double(g_whole[i] - g_acc[i]) * (g_whole[i] - g_acc[i]);
    den += double(g_whole[i]) * g_whole[i];
  }
  EXPECT_LE(std::sqrt(num / den), 1e-6);
  // Masked labels contribute nothing: ignoring row 2's targets leaves rows 0-1's gradient.
  Batch masked = *whole;
  for (int t = 0; t < masked.seq_len; ++t) masked.labels[2 * masked.seq_len + t] = kIgnore;
  p.ZeroGrads();
  auto sm = (*model)->ForwardBackward(masked, scale);
  ASSERT_TRUE(sm.ok());
  EXPECT_EQ(sm->targets, s1->targets);
  p.ZeroGrads();
  ASSERT_TRUE((*model)->ForwardBackward(*first, scale).ok());
  const std::vector<float> g_first = Grads(**model);
  p.ZeroGrads();
  ASSERT_TRUE((*model)->ForwardBackward(masked, scale).ok());
  const std::vector<float> g_masked = Grads(**model);
  for (size_t i = 0; i < g_first.size(); ++i) ASSERT_NEAR(g_masked[i], g_first[i], 1e-6f + 1e-4f * std::abs(g_first[i]));
}

TEST(Training, ResultsAreBitwiseRepeatable) {
  const std::string dir = FixtureDir("mistral_swa_sharded");
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok());
  auto batch = CausalBatch(Rows(ReadJson(dir + "/tokens.json")));
  ASSERT_TRUE(batch.ok());
  std::vector<std::vector<float>> runs;
  std::vector<double> losses;
  for (int threads : {0, 0, 1, 1}) {
    SetNumThreads(threads);
    (*model)->params().ZeroGrads();
    auto s = (*model)->ForwardBackward(*batch, 0.1f);
    ASSERT_TRUE(s.ok());
    losses.push_back(s->loss_sum);
    runs.push_back(Grads(**model));
  }
  SetNumThreads(0);
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(losses[2], losses[3]);
  EXPECT_EQ(runs[2], runs[3]);
}

TEST(Training, AdamWMatchesTorch) {
  const auto fx = ReadJson(FixtureDir("adamw.json"));
  ParamStore p;
  const int w = p.Add("w", {6});
  const int b = p.Add("x.bias", {3});
  auto set = [&](int i, const nlohmann::json& v) {
    auto f = v.get<std::vector<float>>();
    std::copy(f.begin(), f.end(), p.value(i));
  };
  set(w, fx["init"]["w"]);
  set(b, fx["init"]["x.bias"]);
  const auto& c = fx["config"];
  AdamWConfig cfg;
  cfg.beta1 = c["betas"][0].get<float>();
  cfg.beta2 = c["betas"][1].get<float>();
  cfg.eps = c["eps"].get<float>();
  cfg.weight_decay = c["weight_decay"].get<float>();
  AdamW opt(p, cfg);  // "x.bias" is not decayed, as the torch reference's second group
  for (const auto& step : fx["steps"]) {
    auto gw = step["grads"]["w"].get<std::vector<float>>();
    auto gb = step["grads"]["x.bias"].get<std::vector<float>>();
    std::copy(gw.begin(), gw.end(), p.grad(w));
    std::copy(gb.begin(), gb.end(), p.grad(b));
    opt.Step(c["lr"].get<float>());
    auto want_w = step["params"]["w"].get<std::vector<float>>();
    auto want_b = step["params"]["x.bias"].get<std::vector<float>>();
    for (size_t i = 0; i < want_w.size(); ++i) EXPECT_NEAR(p.value(w)[i], want_w[i], 1e-6f) << "w[" << i << "]";
    for (size_t i = 0; i < want_b.size(); ++i) EXPECT_NEAR(p.value(b)[i], want_b[i], 1e-6f) << "b[" << i << "]";
  }
  EXPECT_EQ(opt.step(), 3);
}

TEST(Training, AStepOfLoraTrainingLowersTheLoss) {
  const std::string dir = FixtureDir("gpt2");
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok());
  LoraConfig lc;
  lc.target_modules = {"c_attn", "c_fc"};
  lc.r = 4;
  lc.alpha = 8;
  ASSERT_TRUE((*model)->AddLora(lc).ok());
  auto batch = CausalBatch(Rows(ReadJson(dir + "/tokens.json")));
  ASSERT_TRUE(batch.ok());
  AdamW opt((*model)->params(), AdamWConfig{});
  EXPECT_EQ(opt.size(), 8);  // A and B of 2 modules x 2 layers
  double first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    (*model)->params().ZeroGrads();
    auto s = (*model)->ForwardBackward(*batch, 1.0f / batch->CountTargets());
    ASSERT_TRUE(s.ok());
    (step == 0 ? first : last) = s->loss_sum;
    opt.Step(1e-2f);
  }
  EXPECT_LT(last, first);
}

TEST(Training, CreatedModelsSaveAndLoadBack) {
  ModelConfig c;
  c.family = Family::kLlama;
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.num_layers = 1;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.head_dim = 8;
  c.intermediate_size = 24;
  c.max_position_embeddings = 32;
  c.rope.type = RopeType::kDefault;
  c.sliding_window = {0};
  auto model = Model::Create(c, 1);
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->params().CountParams(), Model::ParameterCount(c));
  TempDir out("created");
  ASSERT_TRUE(SaveMergedModel(**model, out.path()).ok());
  auto again = Model::Load(out.path());
  ASSERT_TRUE(again.ok()) << again.error().message();
  auto batch = CausalBatch({{1, 2, 3, 4, 5, 6}});
  ASSERT_TRUE(batch.ok());
  auto a = (*model)->Forward(*batch), b = (*again)->Forward(*batch);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->loss_sum, b->loss_sum);
}

TEST(Training, LoadErrorsNameTheFileAndTensor) {
  const std::string src = FixtureDir("llama_gqa_llama3");
  TempDir dir("load");
  std::filesystem::copy_file(src + "/config.json", dir / "config.json");
  auto w = io::WeightSource::Open(src);
  ASSERT_TRUE(w.ok());
  std::vector<std::vector<float>> data;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, e] : w->entries()) {
    if (name == "model.norm.weight") continue;
    data.emplace_back(e.info->numel());
    ASSERT_TRUE(e.file->ReadF32(*e.info, data.back().data()).ok());
    tensors.push_back({name, e.info->shape, data.back().data()});
  }
  ASSERT_TRUE(io::WriteSafetensors(dir / "model.safetensors", tensors).ok());
  auto m = Model::Load(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message(), (dir / "model.safetensors") +
                                     ": missing tensor \"model.norm.weight\" (a llama model with this config.json needs it)");
  std::vector<float> extra(4);
  tensors.push_back({"model.norm.weight", {64}, data[0].data()});
  tensors.push_back({"model.layers.9.mlp.up_proj.weight", {2, 2}, extra.data()});
  ASSERT_TRUE(io::WriteSafetensors(dir / "model.safetensors", tensors).ok());
  m = Model::Load(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message(), (dir / "model.safetensors") +
                                     ": unexpected tensor \"model.layers.9.mlp.up_proj.weight\" (not part of a llama model with this config.json)");
  tensors.pop_back();
  tensors.back().shape = {32, 2};
  ASSERT_TRUE(io::WriteSafetensors(dir / "model.safetensors", tensors).ok());
  m = Model::Load(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message(), (dir / "model.safetensors") +
                                     ": tensor \"model.norm.weight\" has shape [32, 2], config.json implies [64]");
}

TEST(Training, Gpt2CheckpointsWithoutThePrefixAndWithBuffersLoad) {
  const std::string src = FixtureDir("gpt2");
  TempDir dir("gpt2bare");
  std::filesystem::copy_file(src + "/config.json", dir / "config.json");
  auto w = io::WeightSource::Open(src);
  ASSERT_TRUE(w.ok());
  std::vector<std::vector<float>> data;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, e] : w->entries()) {
    data.emplace_back(e.info->numel());
    ASSERT_TRUE(e.file->ReadF32(*e.info, data.back().data()).ok());
    tensors.push_back({name.substr(std::string("transformer.").size()), e.info->shape, data.back().data()});
  }
  std::vector<float> mask(32 * 32, 1.0f);  // the causal-mask buffer old exports carry
  tensors.push_back({"h.0.attn.bias", {1, 1, 32, 32}, mask.data()});
  ASSERT_TRUE(io::WriteSafetensors(dir / "model.safetensors", tensors).ok());
  auto a = Model::Load(src), b = Model::Load(dir.path());
  ASSERT_TRUE(a.ok() && b.ok()) << (b.ok() ? "" : b.error().message());
  auto batch = CausalBatch(Rows(ReadJson(src + "/tokens.json")));
  ASSERT_TRUE(batch.ok());
  auto la = (*a)->Forward(*batch), lb = (*b)->Forward(*batch);
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_EQ(la->loss_sum, lb->loss_sum);
}

TEST(Training, BatchErrors) {
  auto model = Model::Load(FixtureDir("gpt2"));
  ASSERT_TRUE(model.ok());
  auto b = CausalBatch({{300, 1, 2}});
  ASSERT_TRUE(b.ok());
  auto s = (*model)->Forward(*b);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "batch: token id 300 at row 0, position 0 is outside the vocabulary [0, 211)");
  std::vector<int32_t> long_row(40, 1);
  s = (*model)->Forward(*CausalBatch({long_row}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "batch: position id 32 at row 0, position 32 is outside [0, 32)");
  auto uneven = CausalBatch({{1, 2}, {3}});
  ASSERT_FALSE(uneven.ok());
  EXPECT_EQ(uneven.error().message(), "batch: row 1 has 1 tokens, row 0 has 2 (rows must be equal length)");
}

}  // namespace
}  // namespace egret::trainer
