// Model layout (HF parameter names, in HF's named_parameters order), loading from safetensors,
// random initialisation, trainability and LoRA attachment.
#include "mpi_trainer/model/model.h"

#include <cmath>
#include <regex>
#include <set>

#include "mpi_trainer/io/weights.h"
#include "mpi_trainer/model/net.h"
#include "mpi_trainer/model/rng.h"
#include "mpi_trainer/model/workspace.h"

namespace egret::trainer {

namespace {

std::string Shape(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

Model::Model() : net_(std::make_unique<detail::Net>()), ws_(std::make_unique<detail::Workspace>()) {}
Model::~Model() = default;

Status Model::Build() {
  const ModelConfig& m = config_;
  detail::Net& net = *net_;
  ParamStore& p = params_;
  const int64_t V = m.vocab_size, D = m.hidden_size, F = m.intermediate_size;
  const int64_t qd = m.q_dim(), kvd = m.kv_dim();
  auto linear = [&](const std::string& module, int in, int out, bool bias, bool conv1d, int col) {
    detail::Linear l;
    l.module = module;
    l.in = in;
    l.out = out;
    l.conv1d = conv1d;
    l.col = col;
    l.w = p.Add(module + ".weight", conv1d ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in});
    if (bias) l.b = p.Add(module + ".bias", {out});
    return l;
  };
  if (m.gpt2()) {
    net.wte = p.Add("transformer.wte.weight", {V, D});
    net.wpe = p.Add("transformer.wpe.weight", {m.max_position_embeddings, D});
  } else {
    net.wte = p.Add("model.embed_tokens.weight", {V, D});
  }
  for (int i = 0; i < m.num_layers; ++i) {
    detail::Layer L;
    if (m.gpt2()) {
      const std::string h = "transformer.h." + std::to_string(i);
      L.ln1_w = p.Add(h + ".ln_1.weight", {D});
      L.ln1_b = p.Add(h + ".ln_1.bias", {D});
      L.attn_in.push_back(linear(h + ".attn.c_attn", D, 3 * D, true, true, 0));
      L.o = linear(h + ".attn.c_proj", D, D, true, true, 0);
      L.ln2_w = p.Add(h + ".ln_2.weight", {D});
      L.ln2_b = p.Add(h + ".ln_2.bias", {D});
      L.mlp_in.push_back(linear(h + ".mlp.c_fc", D, F, true, true, 0));
      L.down = linear(h + ".mlp.c_proj", F, D, true, true, 0);
      float scale = m.scale_attn_weights ? 1.0f / std::sqrt(static_cast<float>(m.head_dim)) : 1.0f;
      if (m.scale_attn_by_inverse_layer_idx) scale /= static_cast<float>(i + 1);
      L.attn_scale = scale;
    } else {
      const std::string h = "model.layers." + std::to_string(i);
      L.ln1_w = p.Add(h + ".input_layernorm.weight", {D});
      L.attn_in.push_back(linear(h + ".self_attn.q_proj", D, qd, m.qkv_bias, false, 0));
      L.attn_in.push_back(linear(h + ".self_attn.k_proj", D, kvd, m.qkv_bias, false, qd));
      L.attn_in.push_back(linear(h + ".self_attn.v_proj", D, kvd, m.qkv_bias, false, qd + kvd));
      L.o = linear(h + ".self_attn.o_proj", qd, D, m.o_bias, false, 0);
      if (m.qk_norm) {
        L.q_norm = p.Add(h + ".self_attn.q_norm.weight", {m.head_dim});
        L.k_norm = p.Add(h + ".self_attn.k_norm.weight", {m.head_dim});
      }
      L.ln2_w = p.Add(h + ".post_attention_layernorm.weight", {D});
      L.mlp_in.push_back(linear(h + ".mlp.gate_proj", D, F, m.mlp_bias, false, 0));
      L.mlp_in.push_back(linear(h + ".mlp.up_proj", D, F, m.mlp_bias, false, F));
      L.down = linear(h + ".mlp.down_proj", F, D, m.mlp_bias, false, 0);
      L.attn_scale = static_cast<float>(std::pow(static_cast<double>(m.head_dim), -0.5));
    }
    L.window = m.sliding_window.empty() ? 0 : m.sliding_window[i];
    net.layers.push_back(std::move(L));
  }
  if (m.gpt2()) {
    net.lnf_w = p.Add("transformer.ln_f.weight", {D});
    net.lnf_b = p.Add("transformer.ln_f.bias", {D});
  } else {
    net.lnf_w = p.Add("model.norm.weight", {D});
  }
  if (!m.tie_word_embeddings) net.lm_head = p.Add("lm_head.weight", {V, D});
  return Ok();
}

int64_t Model::ParameterCount(const ModelConfig& m) {
  const int64_t V = m.vocab_size, D = m.hidden_size, F = m.intermediate_size;
  const int64_t qd = m.q_dim(), kvd = m.kv_dim();
  int64_t per_layer, total;
  if (m.gpt2()) {
    per_layer = 4 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * F + F) + (F * D + D);
    total = V * D + static_cast<int64_t>(m.max_position_embeddings) * D + 2 * D;
  } else {
    per_layer = 2 * D + D * qd + 2 * D * kvd + qd * D + 3 * D * F;
    if (m.qkv_bias) per_layer += qd + 2 * kvd;
    if (m.o_bias) per_layer += D;
    if (m.mlp_bias) per_layer += 2 * F + D;
    if (m.qk_norm) per_layer += 2 * m.head_dim;
    total = V * D + D;
  }
  total += per_layer * m.num_layers;
  if (!m.tie_word_embeddings) total += V * D;
  return total;
}

Result<std::unique_ptr<Model>> Model::Load(const std::string& dir) {
  EGRET_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(dir));
  EGRET_ASSIGN_OR_RETURN(io::WeightSource weights, io::WeightSource::Open(dir));
  std::unique_ptr<Model> model(new Model());
  model->config_ = std::move(config);
  EGRET_TRY(model->Build());
  const ModelConfig& m = model->config_;
  ParamStore& p = model->params_;
  const std::string& src = weights.description();
  std::set<std::string> used;
  for (int i = 0; i < p.count(); ++i) {
    const ParamInfo& info = p.info(i);
    std::string name = info.name;
    const io::WeightSource::Entry* e = weights.Find(name);
    // GPT-2 checkpoints converted from the original release name tensors without the
    // "transformer." prefix that save_pretrained writes.
    if (!e && m.gpt2() && name.rfind("transformer.", 0) == 0) {
      const std::string bare = name.substr(12);
      if ((e = weights.Find(bare))) name = bare;
    }
    if (!e)
      return Error(src + ": missing tensor " + Quote(info.name) + " (a " + FamilyName(m.family) +
                   " model with this config.json needs it)");
    if (e->info->shape != info.shape)
      return Error(e->file->path() + ": tensor " + Quote(name) + " has shape " + Shape(e->info->shape) +
                   ", config.json implies " + Shape(info.shape));
    EGRET_TRY(e->file->ReadF32(*e->info, p.value(i)));
    used.insert(name);
  }
  for (const auto& [name, e] : weights.entries()) {
    if (used.count(name)) continue;
    auto ends = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    // Buffers some exporters save, and an lm_head copy of tied embeddings, are not parameters.
    if (ends(".attn.bias") || ends(".attn.masked_bias") || ends("rotary_emb.inv_freq") ||
        (m.tie_word_embeddings && name == "lm_head.weight"))
      continue;
    return Error(e.file->path() + ": unexpected tensor " + Quote(name) + " (not part of a " +
                 FamilyName(m.family) + " model with this config.json)");
  }
  return model;
}

Result<std::unique_ptr<Model>> Model::Create(const ModelConfig& config, uint64_t seed, float init_std) {
  std::unique_ptr<Model> model(new Model());
  model->config_ = config;
  EGRET_TRY(model->Build());
  ParamStore& p = model->params_;
  Rng rng(seed);
  const float proj_std = init_std / std::sqrt(2.0f * config.num_layers);  // GPT-2's c_proj
  for (int i = 0; i < p.count(); ++i) {
    const ParamInfo& info = p.info(i);
    float* v = p.value(i);
    const std::string& n = info.name;
    const bool norm = n.find("norm") != std::string::npos || n.find(".ln_") != std::string::npos;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0) continue;  // zero
    if (norm) {
      for (size_t j = 0; j < info.numel; ++j) v[j] = 1.0f;
      continue;
    }
    const bool c_proj = config.gpt2() && n.find("c_proj.weight") != std::string::npos;
    const float std = c_proj ? proj_std : init_std;
    for (size_t j = 0; j < info.numel; ++j) v[j] = std * rng.Normal();
  }
  return model;
}

void Model::SetBaseTrainable(bool trainable) {
  std::set<int> lora;
  net_->ForEachLinear([&](const detail::Linear& l) {
    if (l.lora_a >= 0) lora.insert({l.lora_a, l.lora_b});
  });
  for (int i = 0; i < params_.count(); ++i)
    if (!lora.count(i)) params_.SetTrainable(i, trainable);
}

std::vector<std::string> Model::LoraModules() const {
  std::vector<std::string> out;
  net_->ForEachLinear([&](const detail::Linear& l) {
    if (l.lora_a >= 0) out.push_back(l.module);
  });
  return out;
}

Status Model::AddLora(const LoraConfig& lc) {
  if (has_lora_) return Error("LoRA: the model already has adapters");
  if (lc.r <= 0) return Error("LoRA: r must be > 0 (got " + std::to_string(lc.r) + ")");
  if (!(lc.dropout >= 0 && lc.dropout < 1))
    return Error("LoRA: dropout must be in [0, 1) (got " + std::to_string(lc.dropout) + ")");
  if (lc.target_modules.empty() == lc.target_regex.empty())
    return Error("LoRA: give target modules either as a list or as one regex");
  std::regex target_re;
  const bool all_linear = lc.target_regex == "all-linear";
  if (!lc.target_regex.empty() && !all_linear) {
    try {
      target_re = std::regex(lc.target_regex);
    } catch (const std::regex_error& e) {
      return Error("LoRA: target_modules regex " + Quote(lc.target_regex) + " is invalid: " + e.what());
    }
  }
  // PEFT: a pattern key P applies to module M when M matches "(.*\.)?P$".
  auto pattern_value = [&](const auto& patterns, const std::string& module, auto dflt) {
    for (const auto& [key, value] : patterns) {
      try {
        if (std::regex_match(module, std::regex("(.*\\.)?" + key))) return static_cast<decltype(dflt)>(value);
      } catch (const std::regex_error&) {
      }
    }
    return dflt;
  };
  std::set<std::string> kinds;
  int matched = 0;
  Rng rng(lc.seed);
  for (size_t li = 0; li < net_->layers.size(); ++li) {
    detail::Layer& L = net_->layers[li];
    std::vector<detail::Linear*> lins;
    for (auto& x : L.attn_in) lins.push_back(&x);
    lins.push_back(&L.o);
    for (auto& x : L.mlp_in) lins.push_back(&x);
    lins.push_back(&L.down);
    for (detail::Linear* l : lins) {
      const std::string& name = l->module;
      kinds.insert(name.substr(name.rfind('.') + 1));
      bool hit;
      if (all_linear) {
        hit = true;
      } else if (!lc.target_regex.empty()) {
        hit = std::regex_match(name, target_re);
      } else {
        hit = false;
        for (const auto& t : lc.target_modules)
          hit = hit || name == t ||
                (name.size() > t.size() && name.compare(name.size() - t.size() - 1, t.size() + 1, "." + t) == 0);
        if (hit && !lc.layers_to_transform.empty()) {
          // The layer container of our names is "layers" (model.layers.N) or "h" (transformer.h.N).
          const std::string container = config_.gpt2() ? "h" : "layers";
          bool pattern_ok = lc.layers_pattern.empty();
          for (const auto& pat : lc.layers_pattern) pattern_ok = pattern_ok || pat == container;
          bool index_ok = false;
          for (int idx : lc.layers_to_transform) index_ok = index_ok || idx == static_cast<int>(li);
          hit = pattern_ok && index_ok;
        }
      }
      if (!hit) continue;
      l->r = pattern_value(lc.rank_pattern, name, lc.r);
      const double alpha = pattern_value(lc.alpha_pattern, name, lc.alpha);
      l->scale = static_cast<float>(lc.use_rslora ? alpha / std::sqrt(static_cast<double>(l->r)) : alpha / l->r);
      l->dropout = static_cast<float>(lc.dropout);
      l->lora_id = matched++;
      const std::string base = "base_model.model." + name;
      l->lora_a = params_.Add(base + ".lora_A.weight", {l->r, l->in});
      l->lora_b = params_.Add(base + ".lora_B.weight", {l->out, l->r});
      // PEFT's default init: A ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0.
      const float bound = 1.0f / std::sqrt(static_cast<float>(l->in));
      float* a = params_.value(l->lora_a);
      for (size_t j = 0; j < params_.info(l->lora_a).numel; ++j) a[j] = bound * (2.0f * rng.Uniform() - 1.0f);
    }
  }
  if (matched == 0) {
    std::string names;
    for (const auto& k : kinds) names += (names.empty() ? "" : ", ") + k;
    std::string what = lc.target_regex;
    if (what.empty())
      for (const auto& t : lc.target_modules) what += (what.empty() ? "" : ", ") + t;
    return Error("LoRA: target_modules " + Quote(what) + " match no linear layer of this " +
                 FamilyName(config_.family) + " model (its linear layers: " + names + ")");
  }
  net_->lora_count = matched;
  has_lora_ = true;
  lora_config_ = lc;
  SetBaseTrainable(false);
  return Ok();
}

}  // namespace egret::trainer
