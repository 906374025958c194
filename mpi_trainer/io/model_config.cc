#include "mpi_trainer/io/model_config.h"

#include <cmath>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace egret::trainer {

using nlohmann::json;

namespace {

constexpr const char* kSupported = "gpt2, llama, mistral, qwen2, qwen3";

// Typed reads of config.json keys; every error names the file and the key.
class Keys {
 public:
  Keys(const json& j, std::string file) : j_(j), file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  bool Has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json* Get(const char* key) const { return Has(key) ? &j_.at(key) : nullptr; }

  Error Bad(const char* key, const char* want) const {
    return Error(file_ + ": key \"" + key + "\" must be " + want + " (got " + j_.at(key).dump() + ")");
  }
  Error Missing(const char* key) const {
    return Error(file_ + ": missing required key \"" + key + "\"");
  }

  Result<int> PositiveInt(const char* key) const {
    if (!Has(key)) return Missing(key);
    return PositiveIntOr(key, 0);
  }
  Result<int> PositiveIntOr(const char* key, int dflt) const {
    if (!Has(key)) return dflt;
    const json& v = j_.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 30))
      return Bad(key, "a positive integer");
    return static_cast<int>(v.get<int64_t>());
  }
  Result<int> NonNegativeIntOr(const char* key, int dflt) const {
    if (!Has(key)) return dflt;
    const json& v = j_.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (1 << 30))
      return Bad(key, "a non-negative integer");
    return static_cast<int>(v.get<int64_t>());
  }
  Result<double> NumberOr(const char* key, double dflt) const {
    if (!Has(key)) return dflt;
    if (!j_.at(key).is_number()) return Bad(key, "a number");
    return j_.at(key).get<double>();
  }
  Result<bool> BoolOr(const char* key, bool dflt) const {
    if (!Has(key)) return dflt;
    if (!j_.at(key).is_boolean()) return Bad(key, "true or false");
    return j_.at(key).get<bool>();
  }
  Result<std::string> StringOr(const char* key, const std::string& dflt) const {
    if (!Has(key)) return dflt;
    if (!j_.at(key).is_string()) return Bad(key, "a string");
    return j_.at(key).get<std::string>();
  }

 private:
  const json& j_;
  std::string file_;
};

Result<Activation> ParseActivation(const Keys& k, const char* key, const std::string& dflt) {
  EGRET_ASSIGN_OR_RETURN(std::string a, k.StringOr(key, dflt));
  if (a == "silu" || a == "swish") return Activation::kSilu;
  if (a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "gelu_fast") return Activation::kGeluTanh;
  if (a == "gelu") return Activation::kGeluErf;
  if (a == "relu") return Activation::kRelu;
  return Error(k.file() + ": key \"" + key + "\": activation \"" + a +
               "\" is not supported (supported: silu, gelu_new, gelu_pytorch_tanh, gelu, relu)");
}

// RoPE: new configs carry rope_parameters {rope_type, rope_theta, ...}; older ones carry
// rope_theta at the top level and rope_scaling {type|rope_type, factor, ...} or null.
Result<RopeConfig> ParseRope(const Keys& k) {
  RopeConfig r;
  r.type = RopeType::kDefault;
  EGRET_ASSIGN_OR_RETURN(r.theta, k.NumberOr("rope_theta", 10000.0));
  const char* where = k.Has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  const json* s = k.Get(where);
  EGRET_ASSIGN_OR_RETURN(double partial, k.NumberOr("partial_rotary_factor", 1.0));
  if (s) {
    if (!s->is_object()) return k.Bad(where, "an object");
    Keys sk(*s, k.file() + ": " + where);
    if (sk.Has("rope_theta")) {
      EGRET_ASSIGN_OR_RETURN(r.theta, sk.NumberOr("rope_theta", r.theta));
    }
    EGRET_ASSIGN_OR_RETURN(partial, sk.NumberOr("partial_rotary_factor", partial));
    std::string type = "default";
    if (sk.Has("rope_type")) {
      EGRET_ASSIGN_OR_RETURN(type, sk.StringOr("rope_type", type));
    } else if (sk.Has("type")) {
      EGRET_ASSIGN_OR_RETURN(type, sk.StringOr("type", type));
    }
    if (type == "default") {
      r.type = RopeType::kDefault;
    } else if (type == "linear") {
      r.type = RopeType::kLinear;
      if (!sk.Has("factor")) return sk.Missing("factor");
      EGRET_ASSIGN_OR_RETURN(r.factor, sk.NumberOr("factor", 1.0));
    } else if (type == "llama3") {
      r.type = RopeType::kLlama3;
      for (const char* key : {"factor", "low_freq_factor", "high_freq_factor",
                              "original_max_position_embeddings"})
        if (!sk.Has(key)) return sk.Missing(key);
      EGRET_ASSIGN_OR_RETURN(r.factor, sk.NumberOr("factor", 1.0));
      EGRET_ASSIGN_OR_RETURN(r.low_freq_factor, sk.NumberOr("low_freq_factor", 1.0));
      EGRET_ASSIGN_OR_RETURN(r.high_freq_factor, sk.NumberOr("high_freq_factor", 4.0));
      EGRET_ASSIGN_OR_RETURN(r.original_max_position_embeddings,
                             sk.PositiveInt("original_max_position_embeddings"));
      if (!(r.high_freq_factor > r.low_freq_factor))
        return Error(sk.file() + ": high_freq_factor must be greater than low_freq_factor");
    } else {
      return Error(sk.file() + ": rope type \"" + type +
                   "\" is not supported (supported: default, linear, llama3)");
    }
    if (r.type != RopeType::kDefault && !(r.factor > 0))
      return Error(sk.file() + ": factor must be > 0");
  }
  if (partial != 1.0)
    return Error(k.file() + ": partial_rotary_factor " + std::to_string(partial) +
                 " is not supported (only 1.0)");
  if (!(r.theta > 0)) return Error(k.file() + ": rope_theta must be > 0");
  return r;
}

Result<ModelConfig> ParseGpt2(const Keys& k, ModelConfig c) {
  // GPT2Config's attribute_map lets the generic names stand in for the GPT-2 ones.
  auto pick = [&](const char* name, const char* alias) { return k.Has(name) || !k.Has(alias) ? name : alias; };
  EGRET_ASSIGN_OR_RETURN(c.vocab_size, k.PositiveInt("vocab_size"));
  EGRET_ASSIGN_OR_RETURN(c.hidden_size, k.PositiveInt(pick("n_embd", "hidden_size")));
  EGRET_ASSIGN_OR_RETURN(c.num_layers, k.PositiveInt(pick("n_layer", "num_hidden_layers")));
  EGRET_ASSIGN_OR_RETURN(c.num_heads, k.PositiveInt(pick("n_head", "num_attention_heads")));
  EGRET_ASSIGN_OR_RETURN(c.max_position_embeddings,
                         k.PositiveIntOr(pick("n_positions", "max_position_embeddings"), 1024));
  EGRET_ASSIGN_OR_RETURN(c.intermediate_size, k.PositiveIntOr("n_inner", 4 * c.hidden_size));
  if (c.hidden_size % c.num_heads != 0)
    return Error(k.file() + ": n_embd (" + std::to_string(c.hidden_size) +
                 ") must be a multiple of n_head (" + std::to_string(c.num_heads) + ")");
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  EGRET_ASSIGN_OR_RETURN(double eps, k.NumberOr("layer_norm_epsilon", 1e-5));
  c.norm_eps = static_cast<float>(eps);
  EGRET_ASSIGN_OR_RETURN(c.activation, ParseActivation(k, "activation_function", "gelu_new"));
  EGRET_ASSIGN_OR_RETURN(c.tie_word_embeddings, k.BoolOr("tie_word_embeddings", true));
  EGRET_ASSIGN_OR_RETURN(c.scale_attn_weights, k.BoolOr("scale_attn_weights", true));
  EGRET_ASSIGN_OR_RETURN(c.scale_attn_by_inverse_layer_idx,
                         k.BoolOr("scale_attn_by_inverse_layer_idx", false));
  EGRET_ASSIGN_OR_RETURN(bool cross, k.BoolOr("add_cross_attention", false));
  if (cross) return Error(k.file() + ": add_cross_attention is not supported (decoder-only)");
  c.qkv_bias = c.o_bias = c.mlp_bias = true;
  c.rope.type = RopeType::kNone;
  c.sliding_window.assign(c.num_layers, 0);
  return c;
}

Result<ModelConfig> ParseLlamaLike(const Keys& k, ModelConfig c) {
  EGRET_ASSIGN_OR_RETURN(c.vocab_size, k.PositiveInt("vocab_size"));
  EGRET_ASSIGN_OR_RETURN(c.hidden_size, k.PositiveInt("hidden_size"));
  EGRET_ASSIGN_OR_RETURN(c.num_layers, k.PositiveInt("num_hidden_layers"));
  EGRET_ASSIGN_OR_RETURN(c.num_heads, k.PositiveInt("num_attention_heads"));
  EGRET_ASSIGN_OR_RETURN(c.intermediate_size, k.PositiveInt("intermediate_size"));
  EGRET_ASSIGN_OR_RETURN(c.num_kv_heads, k.PositiveIntOr("num_key_value_heads", c.num_heads));
  if (c.num_heads % c.num_kv_heads != 0)
    return Error(k.file() + ": num_attention_heads (" + std::to_string(c.num_heads) +
                 ") must be a multiple of num_key_value_heads (" + std::to_string(c.num_kv_heads) + ")");
  // Qwen3Config defaults head_dim to 128; the others derive it from the hidden size.
  const bool qwen3 = c.family == Family::kQwen3;
  if (!qwen3 && !k.Has("head_dim") && c.hidden_size % c.num_heads != 0)
    return Error(k.file() + ": hidden_size (" + std::to_string(c.hidden_size) +
                 ") must be a multiple of num_attention_heads (" + std::to_string(c.num_heads) +
                 ") when head_dim is not given");
  EGRET_ASSIGN_OR_RETURN(c.head_dim,
                         k.PositiveIntOr("head_dim", qwen3 ? 128 : c.hidden_size / c.num_heads));
  if (c.head_dim % 2 != 0)
    return Error(k.file() + ": head_dim (" + std::to_string(c.head_dim) + ") must be even for RoPE");
  EGRET_ASSIGN_OR_RETURN(c.max_position_embeddings,
                         k.PositiveIntOr("max_position_embeddings", 2048));
  EGRET_ASSIGN_OR_RETURN(double eps, k.NumberOr("rms_norm_eps", 1e-6));
  c.norm_eps = static_cast<float>(eps);
  EGRET_ASSIGN_OR_RETURN(c.activation, ParseActivation(k, "hidden_act", "silu"));
  EGRET_ASSIGN_OR_RETURN(c.tie_word_embeddings, k.BoolOr("tie_word_embeddings", false));
  EGRET_ASSIGN_OR_RETURN(c.rope, ParseRope(k));
  c.sliding_window.assign(c.num_layers, 0);
  switch (c.family) {
    case Family::kLlama: {
      EGRET_ASSIGN_OR_RETURN(bool ab, k.BoolOr("attention_bias", false));
      EGRET_ASSIGN_OR_RETURN(c.mlp_bias, k.BoolOr("mlp_bias", false));
      c.qkv_bias = c.o_bias = ab;
      break;
    }
    case Family::kMistral: {
      EGRET_ASSIGN_OR_RETURN(int w, k.PositiveIntOr("sliding_window", 0));
      c.sliding_window.assign(c.num_layers, w);
      break;
    }
    case Family::kQwen2:
    case Family::kQwen3: {
      if (qwen3) {
        EGRET_ASSIGN_OR_RETURN(bool ab, k.BoolOr("attention_bias", false));
        c.qkv_bias = c.o_bias = ab;
        c.qk_norm = true;
      } else {
        c.qkv_bias = true;
      }
      EGRET_ASSIGN_OR_RETURN(bool use_sw, k.BoolOr("use_sliding_window", false));
      EGRET_ASSIGN_OR_RETURN(int w, k.PositiveIntOr("sliding_window", 4096));
      EGRET_ASSIGN_OR_RETURN(int max_window_layers, k.NonNegativeIntOr("max_window_layers", 28));
      if (!use_sw) w = 0;  // HF: sliding_window = sliding_window if use_sliding_window else None
      if (const json* lt = k.Get("layer_types")) {
        if (!lt->is_array() || lt->size() != static_cast<size_t>(c.num_layers))
          return k.Bad("layer_types", "a list with one entry per layer");
        for (int i = 0; i < c.num_layers; ++i) {
          const json& t = (*lt)[i];
          if (t == "sliding_attention") {
            c.sliding_window[i] = w;
          } else if (t != "full_attention") {
            return Error(k.file() + ": layer_types[" + std::to_string(i) + "] must be "
                         "\"full_attention\" or \"sliding_attention\" (got " + t.dump() + ")");
          }
        }
      } else {
        for (int i = max_window_layers; i < c.num_layers; ++i) c.sliding_window[i] = w;
      }
      break;
    }
    case Family::kGpt2:
      break;
  }
  return c;
}

}  // namespace

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kGpt2: return "gpt2";
    case Family::kLlama: return "llama";
    case Family::kMistral: return "mistral";
    case Family::kQwen2: return "qwen2";
    case Family::kQwen3: return "qwen3";
  }
  return "?";
}

const char* ActivationName(Activation a) {
  switch (a) {
    case Activation::kSilu: return "silu";
    case Activation::kGeluTanh: return "gelu_new";
    case Activation::kGeluErf: return "gelu";
    case Activation::kRelu: return "relu";
  }
  return "?";
}

Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& file) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    if (e.byte > json_text.size())
      return Error(file + ": not valid JSON (it ends early, after " + std::to_string(json_text.size()) + " bytes)");
    return Error(file + ": not valid JSON (parse error at byte " + std::to_string(e.byte) + ")");
  }
  if (!j.is_object()) return Error(file + ": must be a JSON object");
  Keys k(j, file);
  std::string type;
  if (k.Has("model_type")) {
    EGRET_ASSIGN_OR_RETURN(type, k.StringOr("model_type", ""));
  } else if (const json* arch = k.Get("architectures");
             arch && arch->is_array() && !arch->empty() && (*arch)[0].is_string()) {
    const std::string a = (*arch)[0].get<std::string>();
    if (a == "GPT2LMHeadModel") type = "gpt2";
    else if (a == "LlamaForCausalLM") type = "llama";
    else if (a == "MistralForCausalLM") type = "mistral";
    else if (a == "Qwen2ForCausalLM") type = "qwen2";
    else if (a == "Qwen3ForCausalLM") type = "qwen3";
    else
      return Error(file + ": no model_type, and architecture \"" + a +
                   "\" is not supported (supported model types: " + kSupported + ")");
  } else {
    return Error(file + ": missing required key \"model_type\" (supported: " +
                 std::string(kSupported) + ")");
  }
  ModelConfig c;
  if (type == "gpt2") c.family = Family::kGpt2;
  else if (type == "llama") c.family = Family::kLlama;
  else if (type == "mistral") c.family = Family::kMistral;
  else if (type == "qwen2") c.family = Family::kQwen2;
  else if (type == "qwen3") c.family = Family::kQwen3;
  else
    return Error(file + ": unknown model_type \"" + type + "\" (supported: " + kSupported + ")");
  EGRET_ASSIGN_OR_RETURN(c.torch_dtype, k.StringOr(k.Has("dtype") ? "dtype" : "torch_dtype", ""));
  c.raw_json = json_text;
  if (c.family == Family::kGpt2) return ParseGpt2(k, std::move(c));
  return ParseLlamaLike(k, std::move(c));
}

Result<ModelConfig> LoadModelConfig(const std::string& model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / "config.json").string();
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseModelConfig(text, path);
}

std::string ConfigJsonForExport(const ModelConfig& c, const std::string& torch_dtype) {
  json j = c.raw_json.empty() ? json::object() : json::parse(c.raw_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) j = json::object();
  if (c.raw_json.empty()) {  // a model made in memory: write the keys HF needs
    j["model_type"] = FamilyName(c.family);
    j["vocab_size"] = c.vocab_size;
    j["tie_word_embeddings"] = c.tie_word_embeddings;
    if (c.gpt2()) {
      j["architectures"] = {"GPT2LMHeadModel"};
      j["n_embd"] = c.hidden_size;
      j["n_layer"] = c.num_layers;
      j["n_head"] = c.num_heads;
      j["n_positions"] = c.max_position_embeddings;
      j["n_inner"] = c.intermediate_size;
      j["layer_norm_epsilon"] = c.norm_eps;
      j["activation_function"] = ActivationName(c.activation);
    } else {
      static const char* kArch[] = {"", "LlamaForCausalLM", "MistralForCausalLM",
                                    "Qwen2ForCausalLM", "Qwen3ForCausalLM"};
      j["architectures"] = {kArch[static_cast<int>(c.family)]};
      j["hidden_size"] = c.hidden_size;
      j["num_hidden_layers"] = c.num_layers;
      j["num_attention_heads"] = c.num_heads;
      j["num_key_value_heads"] = c.num_kv_heads;
      j["head_dim"] = c.head_dim;
      j["intermediate_size"] = c.intermediate_size;
      j["max_position_embeddings"] = c.max_position_embeddings;
      j["rms_norm_eps"] = c.norm_eps;
      j["hidden_act"] = ActivationName(c.activation);
      j["rope_theta"] = c.rope.theta;
      if (c.family == Family::kLlama) {
        j["attention_bias"] = c.qkv_bias;
        j["mlp_bias"] = c.mlp_bias;
      }
      if (c.family == Family::kQwen3) j["attention_bias"] = c.qkv_bias;
    }
  }
  if (j.contains("dtype")) j["dtype"] = torch_dtype;
  else j["torch_dtype"] = torch_dtype;
  return j.dump(2) + "\n";
}

}  // namespace egret::trainer
