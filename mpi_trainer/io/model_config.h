// config.json -> the architecture of a decoder-only model, for the families Egret runs.
// HF's defaults apply to absent optional keys (as from_pretrained does); the keys that fix
// tensor shapes are required. Old and new spellings are both read: rope_theta/rope_scaling
// at the top level or rope_parameters, rope_scaling "type" or "rope_type", torch_dtype or dtype.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace egret::trainer {

enum class Family { kGpt2, kLlama, kMistral, kQwen2, kQwen3 };
enum class Activation { kSilu, kGeluTanh, kGeluErf, kRelu };
enum class RopeType { kNone, kDefault, kLinear, kLlama3 };

const char* FamilyName(Family f);  // the HF model_type: "gpt2", "llama", ...
const char* ActivationName(Activation a);

struct RopeConfig {
  RopeType type = RopeType::kNone;  // kNone: learned absolute positions (GPT-2)
  double theta = 10000.0;
  double factor = 1.0;                // linear, llama3
  double low_freq_factor = 1.0;       // llama3
  double high_freq_factor = 4.0;      // llama3
  int original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  Family family = Family::kLlama;
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  float norm_eps = 1e-6f;
  Activation activation = Activation::kSilu;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;   // q/k/v projections (Qwen2 always; Llama/Qwen3 attention_bias)
  bool o_bias = false;     // output projection (Llama/Qwen3 attention_bias)
  bool mlp_bias = false;   // Llama mlp_bias
  bool qk_norm = false;    // Qwen3 per-head RMSNorm on q and k before RoPE
  RopeConfig rope;
  // Attention window per layer: 0 = full causal attention, W = a key at distance >= W from
  // the query is masked (HF: kv_idx > q_idx - W).
  std::vector<int> sliding_window;
  // GPT-2 attention options.
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  std::string torch_dtype;  // as written in config.json ("float32", "bfloat16"), informative
  std::string raw_json;     // the file as read, rewritten on export

  bool gpt2() const { return family == Family::kGpt2; }
  int q_dim() const { return num_heads * head_dim; }
  int kv_dim() const { return num_kv_heads * head_dim; }
};

// `file` names the source in errors ("DIR/config.json").
Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& file);
Result<ModelConfig> LoadModelConfig(const std::string& model_dir);

// config.json for `config` with weights stored as `torch_dtype` ("float32"): the original keys
// are kept, only the dtype is updated.
std::string ConfigJsonForExport(const ModelConfig& config, const std::string& torch_dtype);

}  // namespace egret::trainer
