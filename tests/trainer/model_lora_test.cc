// LoRA: PEFT adapters imported against PEFT's reference outputs, exported and re-imported,
// merged into HF weights; initialisation, frozen base, dropout and errors.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mpi_trainer/io/safetensors.h"
#include "mpi_trainer/io/weights.h"
#include "mpi_trainer/model/lora.h"
#include "mpi_trainer/model/model.h"
#include "tests/trainer/model_test_util.h"

namespace egret::trainer {
namespace {

using namespace testing;

std::unique_ptr<Model> LoadWithAdapter(const std::string& dir, const std::string& adapter) {
  auto model = Model::Load(dir);
  EXPECT_TRUE(model.ok()) << model.error().message();
  if (!model.ok()) return nullptr;
  Status s = LoadPeftAdapter(**model, adapter);
  EXPECT_TRUE(s.ok()) << s.error().message();
  return std::move(*model);
}

std::vector<float> Probe(Model& m, const Batch& b, double* mean_loss = nullptr) {
  std::vector<float> probe;
  ForwardOptions opt;
  opt.probe_k = 16;
  opt.probe_logits = &probe;
  auto s = m.Forward(b, opt);
  EXPECT_TRUE(s.ok()) << s.error().message();
  if (mean_loss && s.ok()) *mean_loss = s->loss_sum / s->targets;
  return probe;
}

Batch FixtureBatch(const std::string& dir) {
  auto b = CausalBatch(Rows(ReadJson(dir + "/tokens.json")));
  EXPECT_TRUE(b.ok());
  return *b;
}

class Adapter : public ::testing::TestWithParam<const char*> {};

TEST_P(Adapter, ImportMatchesPeft) {
  const std::string dir = FixtureDir(GetParam());
  auto model = LoadWithAdapter(dir, dir + "/adapter");
  ASSERT_TRUE(model);
  // Only the adapters train; their names are PEFT's saved names.
  for (const auto& info : model->params().infos())
    EXPECT_EQ(info.trainable, info.name.find(".lora_") != std::string::npos) << info.name;
  ExpectScores(*model, Rows(ReadJson(dir + "/tokens.json")), ReadJson(dir + "/adapter_expected.json"));
  // The frozen base got no gradient at all.
  const ParamStore& p = model->params();
  for (int i = 0; i < p.count(); ++i) {
    if (p.info(i).trainable) continue;
    const float* g = p.grad_if_any(i);
    for (size_t j = 0; g && j < p.info(i).numel; ++j) ASSERT_EQ(g[j], 0.0f) << p.info(i).name;
  }
}

TEST_P(Adapter, ExportThenImportGivesTheSameModel) {
  const std::string dir = FixtureDir(GetParam());
  auto model = LoadWithAdapter(dir, dir + "/adapter");
  ASSERT_TRUE(model);
  TempDir out("peft");
  ASSERT_TRUE(SavePeftAdapter(*model, out.path(), "tiny").ok());
  const auto cfg = ReadJson(out / "adapter_config.json");
  const auto want = ReadJson(dir + "/adapter/adapter_config.json");
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["r"], want["r"]);
  EXPECT_EQ(cfg["lora_alpha"].get<double>(), want["lora_alpha"].get<double>());
  EXPECT_EQ(cfg["target_modules"], want["target_modules"]);
  EXPECT_EQ(cfg["use_rslora"], want["use_rslora"]);
  EXPECT_EQ(cfg["fan_in_fan_out"], want["fan_in_fan_out"]);
  // Same tensor names (PEFT's, without the adapter name) and shapes as the PEFT-written file.
  auto ours = io::WeightSource::OpenFile(out / "adapter_model.safetensors");
  auto theirs = io::WeightSource::OpenFile(dir + "/adapter/adapter_model.safetensors");
  ASSERT_TRUE(ours.ok() && theirs.ok());
  ASSERT_EQ(ours->entries().size(), theirs->entries().size());
  for (const auto& [name, e] : theirs->entries()) {
    const auto* o = ours->Find(name);
    ASSERT_NE(o, nullptr) << name;
    EXPECT_EQ(o->info->shape, e.info->shape) << name;
  }
  auto again = LoadWithAdapter(dir, out.path());
  ASSERT_TRUE(again);
  const Batch b = FixtureBatch(dir);
  EXPECT_EQ(Probe(*model, b), Probe(*again, b));  // bit for bit
}

TEST_P(Adapter, MergedExportEqualsTheAdapterForward) {
  const std::string dir = FixtureDir(GetParam());
  auto model = LoadWithAdapter(dir, dir + "/adapter");
  ASSERT_TRUE(model);
  TempDir out("merged");
  ASSERT_TRUE(SaveMergedModel(*model, out.path()).ok());
  auto merged = Model::Load(out.path());
  ASSERT_TRUE(merged.ok()) << merged.error().message();
  EXPECT_FALSE((*merged)->has_lora());
  const Batch b = FixtureBatch(dir);
  double loss_a = 0, loss_m = 0;
  auto pa = Probe(*model, b, &loss_a), pm = Probe(**merged, b, &loss_m);
  ASSERT_EQ(pa.size(), pm.size());
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, double(std::abs(pa[i] - pm[i])));
  EXPECT_LE(worst, kLogitAbs);
  EXPECT_LE(RelErr(loss_m, loss_a), kLossRel);
  // Tensor names are the HF checkpoint names of the base model.
  auto w = io::WeightSource::Open(out.path());
  ASSERT_TRUE(w.ok());
  auto base = io::WeightSource::Open(dir);
  ASSERT_TRUE(base.ok());
  for (const auto& [name, e] : base->entries()) EXPECT_NE(w->Find(name), nullptr) << name;
}

TEST_P(Adapter, TensorNamesWithTheAdapterNameAreAccepted) {
  const std::string dir = FixtureDir(GetParam());
  TempDir out("default");
  std::filesystem::copy_file(dir + "/adapter/adapter_config.json", out / "adapter_config.json");
  auto src = io::WeightSource::OpenFile(dir + "/adapter/adapter_model.safetensors");
  ASSERT_TRUE(src.ok());
  std::vector<std::vector<float>> data;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, e] : src->entries()) {
    data.emplace_back(e.info->numel());
    ASSERT_TRUE(e.file->ReadF32(*e.info, data.back().data()).ok());
    std::string renamed = name;
    renamed.insert(renamed.rfind(".weight"), ".default");  // lora_A.weight -> lora_A.default.weight
    tensors.push_back({renamed, e.info->shape, data.back().data()});
  }
  ASSERT_TRUE(io::WriteSafetensors(out / "adapter_model.safetensors", tensors).ok());
  auto a = LoadWithAdapter(dir, dir + "/adapter");
  auto b = LoadWithAdapter(dir, out.path());
  ASSERT_TRUE(a && b);
  const Batch batch = FixtureBatch(dir);
  EXPECT_EQ(Probe(*a, batch), Probe(*b, batch));
}

INSTANTIATE_TEST_SUITE_P(Families, Adapter, ::testing::Values("gpt2", "llama_gqa_llama3", "qwen3_headdim"));

TEST(Lora, FreshAdaptersStartAtTheBaseModelAndFollowPeftInit) {
  const std::string dir = FixtureDir("llama_gqa_llama3");
  auto base = Model::Load(dir);
  auto lora = Model::Load(dir);
  ASSERT_TRUE(base.ok() && lora.ok());
  LoraConfig c;
  c.r = 4;
  c.alpha = 8;
  c.target_regex = R"(.*\.(q_proj|v_proj))";
  c.seed = 3;
  ASSERT_TRUE((*lora)->AddLora(c).ok());
  EXPECT_EQ((*lora)->LoraModules().size(), 4u);  // 2 layers x {q_proj, v_proj}
  const ParamStore& p = (*lora)->params();
  const int a = p.Find("base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight");
  const int b = p.Find("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(p.info(a).shape, (std::vector<int64_t>{4, 64}));
  EXPECT_EQ(p.info(b).shape, (std::vector<int64_t>{32, 4}));
  float lo = 1, hi = -1;
  for (size_t j = 0; j < p.info(a).numel; ++j) {
    lo = std::min(lo, p.value(a)[j]);
    hi = std::max(hi, p.value(a)[j]);
  }
  EXPECT_GE(lo, -0.125f);  // U(-1/sqrt(in), 1/sqrt(in)), in = 64
  EXPECT_LE(hi, 0.125f);
  EXPECT_LT(lo, -0.1f);
  EXPECT_GT(hi, 0.1f);
  for (size_t j = 0; j < p.info(b).numel; ++j) ASSERT_EQ(p.value(b)[j], 0.0f);
  const Batch batch = FixtureBatch(dir);
  EXPECT_EQ(Probe(**base, batch), Probe(**lora, batch));
}

TEST(Lora, DropoutIsReproducibleAndItsGradientIsRight) {
  const std::string dir = FixtureDir("llama_gqa_llama3");
  auto model = LoadWithAdapter(dir, dir + "/adapter");
  ASSERT_TRUE(model);
  // Same adapters with dropout on: rebuild from the config with dropout 0.3.
  auto drop = Model::Load(dir);
  ASSERT_TRUE(drop.ok());
  auto cfg = LoadLoraConfig(dir + "/adapter");
  ASSERT_TRUE(cfg.ok());
  cfg->dropout = 0.3;
  cfg->seed = 9;
  ASSERT_TRUE((*drop)->AddLora(*cfg).ok());
  ParamStore& p = (*drop)->params();
  for (int i = 0; i < p.count(); ++i)
    if (p.info(i).trainable) {
      const int src = model->params().Find(p.info(i).name);
      ASSERT_GE(src, 0);
      std::copy_n(model->params().value(src), p.info(i).numel, p.value(i));
    }
  const Batch b = FixtureBatch(dir);
  auto loss_at = [&](uint64_t counter) {
    (*drop)->set_dropout_counter(counter);
    p.ZeroGrads();
    auto s = (*drop)->ForwardBackward(b, 1.0f);
    EXPECT_TRUE(s.ok());
    return s.ok() ? s->loss_sum : 0.0;
  };
  const double l1 = loss_at(5), l2 = loss_at(5), l3 = loss_at(6);
  EXPECT_EQ(l1, l2);  // the mask is a function of (seed, counter)
  EXPECT_NE(l1, l3);
  EXPECT_EQ((*drop)->dropout_counter(), 7u);
  // Eval (Forward) has no dropout: it equals the adapter model without dropout.
  EXPECT_EQ(Probe(**drop, b), Probe(*model, b));
  // Central differences on a few adapter weights, with the mask held fixed.
  loss_at(5);
  std::vector<float> grad(p.grads(), p.grads() + p.size());
  for (const char* name : {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                           "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"}) {
    const int i = p.Find(name);
    ASSERT_GE(i, 0);
    for (size_t j : {size_t(0), p.info(i).numel / 2}) {
      float* w = p.value(i) + j;
      const float orig = *w, h = 1e-2f;
      *w = orig + h;
      const double up = loss_at(5);
      *w = orig - h;
      const double down = loss_at(5);
      *w = orig;
      const double fd = (up - down) / (2 * h);
      const double an = grad[p.info(i).offset + j];
      EXPECT_NEAR(an, fd, 2e-3 * std::max(1.0, std::abs(fd))) << name << "[" << j << "]";
    }
  }
}

TEST(Lora, Errors) {
  const std::string dir = FixtureDir("llama_gqa_llama3");
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok());
  LoraConfig c;
  c.target_modules = {"c_attn"};
  Status s = (*model)->AddLora(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "LoRA: target_modules \"c_attn\" match no linear layer of this llama model (its linear "
            "layers: down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj)");

  TempDir bad("badadapter");
  std::ofstream(bad / "adapter_config.json") << R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8,)"
                                                 R"( "target_modules": ["q_proj"], "bias": "all"})";
  s = LoadPeftAdapter(**model, bad.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), (bad / "adapter_config.json") + ": bias \"all\" is not supported (only \"none\")");

  // An adapter of another rank than its config says.
  TempDir wrong("wrongrank");
  std::ofstream(wrong / "adapter_config.json") << R"({"peft_type": "LORA", "r": 2, "lora_alpha": 8,)"
                                                   R"( "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]})";
  std::filesystem::copy_file(dir + "/adapter/adapter_model.safetensors", wrong / "adapter_model.safetensors");
  auto fresh = Model::Load(dir);
  ASSERT_TRUE(fresh.ok());
  s = LoadPeftAdapter(**fresh, wrong.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find(wrong / "adapter_model.safetensors"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("has shape [4, "), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("], expected [2, "), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace egret::trainer
