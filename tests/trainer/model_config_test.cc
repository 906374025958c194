// config.json parsing: every family, old and new key spellings, HF's defaults, and the exact
// error for each kind of bad input. Expected values are read off the fixture configs by hand.
#include <gtest/gtest.h>

#include "mpi_trainer/io/model_config.h"
#include "tests/trainer/test_util.h"

namespace egret::trainer {
namespace {

ModelConfig MustLoad(const std::string& fixture) {
  auto c = LoadModelConfig(testing::FixtureDir(fixture));
  EXPECT_TRUE(c.ok()) << c.error().message();
  return c.ok() ? *c : ModelConfig{};
}

std::string ParseError(const std::string& json) {
  auto c = ParseModelConfig(json, "m/config.json");
  return c.ok() ? "(parsed)" : c.error().message();
}

TEST(ModelConfig, Gpt2) {
  ModelConfig c = MustLoad("gpt2");
  EXPECT_EQ(c.family, Family::kGpt2);
  EXPECT_EQ(c.hidden_size, 48);
  EXPECT_EQ(c.num_heads, 3);
  EXPECT_EQ(c.num_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.intermediate_size, 100);  // n_inner
  EXPECT_EQ(c.max_position_embeddings, 32);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_EQ(c.activation, Activation::kGeluTanh);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.scale_attn_by_inverse_layer_idx);
  EXPECT_EQ(c.rope.type, RopeType::kNone);
  // n_inner null means 4 * n_embd.
  auto d = ParseModelConfig(R"({"model_type":"gpt2","vocab_size":10,"n_embd":8,"n_layer":1,"n_head":2,"n_inner":null})", "c");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->intermediate_size, 32);
  EXPECT_EQ(d->max_position_embeddings, 1024);
}

TEST(ModelConfig, LlamaWithLlama3RopeScaling) {
  ModelConfig c = MustLoad("llama_gqa_llama3");
  EXPECT_EQ(c.family, Family::kLlama);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope.type, RopeType::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope.original_max_position_embeddings, 16);
  EXPECT_DOUBLE_EQ(c.rope.theta, 10000.0);
}

TEST(ModelConfig, LlamaBiasesAndTheOldRopeScalingSpelling) {
  ModelConfig c = MustLoad("llama_mha_bias_bf16");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_TRUE(c.o_bias);
  EXPECT_TRUE(c.mlp_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.head_dim, 16);  // 48 / 3
  EXPECT_EQ(c.rope.type, RopeType::kLinear);  // {"type": "linear"}
  EXPECT_DOUBLE_EQ(c.rope.factor, 2.0);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
}

TEST(ModelConfig, MistralSlidingWindowOnEveryLayer) {
  ModelConfig c = MustLoad("mistral_swa_sharded");
  EXPECT_EQ(c.family, Family::kMistral);
  EXPECT_EQ(c.num_kv_heads, 1);
  EXPECT_EQ(c.sliding_window, (std::vector<int>{5, 5}));
  EXPECT_FALSE(c.qkv_bias);
  auto none = ParseModelConfig(R"({"model_type":"mistral","vocab_size":10,"hidden_size":8,"num_hidden_layers":2,)"
                               R"("num_attention_heads":2,"intermediate_size":16,"sliding_window":null})", "c");
  ASSERT_TRUE(none.ok()) << none.error().message();
  EXPECT_EQ(none->sliding_window, (std::vector<int>{0, 0}));
}

TEST(ModelConfig, Qwen2WindowFromMaxWindowLayers) {
  ModelConfig c = MustLoad("qwen2_swa_tied");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.sliding_window, (std::vector<int>{0, 4}));  // layers >= max_window_layers (1)
  EXPECT_DOUBLE_EQ(c.rope.theta, 1e6);
  // use_sliding_window false disables the window whatever sliding_window says.
  auto off = ParseModelConfig(R"({"model_type":"qwen2","vocab_size":10,"hidden_size":8,"num_hidden_layers":2,)"
                              R"("num_attention_heads":2,"intermediate_size":16,"sliding_window":4,"max_window_layers":0})", "c");
  ASSERT_TRUE(off.ok()) << off.error().message();
  EXPECT_EQ(off->sliding_window, (std::vector<int>{0, 0}));
  // layer_types, when written, decide per layer.
  auto lt = ParseModelConfig(R"({"model_type":"qwen2","vocab_size":10,"hidden_size":8,"num_hidden_layers":2,)"
                             R"("num_attention_heads":2,"intermediate_size":16,"use_sliding_window":true,"sliding_window":3,)"
                             R"("layer_types":["sliding_attention","full_attention"]})", "c");
  ASSERT_TRUE(lt.ok()) << lt.error().message();
  EXPECT_EQ(lt->sliding_window, (std::vector<int>{3, 0}));
}

TEST(ModelConfig, Qwen3NewSpellingAndHeadDim) {
  ModelConfig c = MustLoad("qwen3_headdim");
  EXPECT_EQ(c.family, Family::kQwen3);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.head_dim, 24);
  EXPECT_EQ(c.q_dim(), 96);
  EXPECT_DOUBLE_EQ(c.rope.theta, 1e6);  // from rope_parameters
  EXPECT_EQ(c.rope.type, RopeType::kDefault);
  EXPECT_EQ(c.torch_dtype, "float32");  // "dtype"
  // Qwen3Config's default head_dim is 128, not hidden / heads.
  auto d = ParseModelConfig(R"({"model_type":"qwen3","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,)"
                            R"("num_attention_heads":2,"intermediate_size":16})", "c");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->head_dim, 128);
}

TEST(ModelConfig, ModelTypeFromArchitectures) {
  auto c = ParseModelConfig(R"({"architectures":["Qwen2ForCausalLM"],"vocab_size":10,"hidden_size":8,)"
                            R"("num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16})", "c");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->family, Family::kQwen2);
}

TEST(ModelConfig, Errors) {
  EXPECT_EQ(ParseError(R"({"model_type":"bert","hidden_size":8})"),
            "m/config.json: unknown model_type \"bert\" (supported: gpt2, llama, mistral, qwen2, qwen3)");
  EXPECT_EQ(ParseError(R"({"architectures":["BertForMaskedLM"]})"),
            "m/config.json: no model_type, and architecture \"BertForMaskedLM\" is not supported (supported model types: gpt2, llama, mistral, qwen2, qwen3)");
  EXPECT_EQ(ParseError(R"({"vocab_size":10})"),
            "m/config.json: missing required key \"model_type\" (supported: gpt2, llama, mistral, qwen2, qwen3)");
  EXPECT_EQ(ParseError(R"({"model_type":"llama","vocab_size":10,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16})"),
            "m/config.json: missing required key \"hidden_size\"");
  EXPECT_EQ(ParseError(R"({"model_type":"llama","vocab_size":10,"hidden_size":"64","num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16})"),
            "m/config.json: key \"hidden_size\" must be a positive integer (got \"64\")");
  EXPECT_EQ(ParseError(R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"tie_word_embeddings":"no"})"),
            "m/config.json: key \"tie_word_embeddings\" must be true or false (got \"no\")");
  EXPECT_EQ(ParseError(R"({"model_type":"llama","vocab_size":10,"hidden_size":12,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":3,"intermediate_size":16})"),
            "m/config.json: num_attention_heads (4) must be a multiple of num_key_value_heads (3)");
  EXPECT_EQ(ParseError(R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"rope_scaling":{"rope_type":"yarn","factor":4}})"),
            "m/config.json: rope_scaling: rope type \"yarn\" is not supported (supported: default, linear, llama3)");
  EXPECT_EQ(ParseError(R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"rope_scaling":{"rope_type":"llama3","factor":8}})"),
            "m/config.json: rope_scaling: missing required key \"low_freq_factor\"");
  EXPECT_EQ(ParseError(R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"hidden_act":"mish"})"),
            "m/config.json: key \"hidden_act\": activation \"mish\" is not supported (supported: silu, gelu_new, gelu_pytorch_tanh, gelu, relu)");
  EXPECT_EQ(ParseError(R"({"model_type":"gpt2","vocab_size":10,"n_embd":10,"n_layer":1,"n_head":3})"),
            "m/config.json: n_embd (10) must be a multiple of n_head (3)");
  EXPECT_EQ(ParseError("{\"model_type\": "), "m/config.json: not valid JSON (it ends early, after 15 bytes)");
  auto missing = LoadModelConfig("/nonexistent-model-dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "/nonexistent-model-dir/config.json: cannot open: No such file or directory");
}

TEST(ModelConfig, ExportKeepsKeysAndSetsTheDtype) {
  ModelConfig c = MustLoad("llama_mha_bias_bf16");
  auto j = nlohmann::json::parse(ConfigJsonForExport(c, "float32"));
  EXPECT_EQ(j["torch_dtype"], "float32");
  EXPECT_EQ(j["rope_scaling"]["type"], "linear");
  EXPECT_EQ(j["architectures"][0], "LlamaForCausalLM");
  auto again = ParseModelConfig(j.dump(), "c");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->hidden_size, 48);
}

}  // namespace
}  // namespace egret::trainer
