// PEFT adapter directories (adapter_config.json + adapter_model.safetensors) and merged export.
#include "mpi_trainer/model/lora.h"

#include <sys/stat.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "mpi_trainer/io/safetensors.h"
#include "mpi_trainer/io/weights.h"
#include "mpi_trainer/model/gemm.h"
#include "mpi_trainer/model/model.h"
#include "mpi_trainer/model/net.h"

namespace egret::trainer {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// PEFT's default target modules per model type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING).
std::vector<std::string> DefaultTargets(Family f) {
  if (f == Family::kGpt2) return {"c_attn"};
  return {"q_proj", "v_proj"};
}

// PEFT writes the adapter name into in-memory names ("lora_A.default.weight"); files carry
// "lora_A.weight". Both are accepted.
std::string StripAdapterName(const std::string& name) {
  for (const char* part : {".lora_A.", ".lora_B."}) {
    size_t at = name.find(part);
    if (at == std::string::npos) continue;
    size_t rest = at + std::string(part).size();
    size_t dot = name.find('.', rest);
    if (dot != std::string::npos && name.compare(dot, std::string::npos, ".weight") == 0 &&
        name.compare(rest, dot - rest, "weight") != 0)
      return name.substr(0, rest) + "weight";
  }
  return name;
}

Status MakeDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(dir + ": cannot create directory: " + ec.message());
  return Ok();
}

}  // namespace

Result<LoraConfig> LoadLoraConfig(const std::string& adapter_dir) {
  const std::string path = (fs::path(adapter_dir) / "adapter_config.json").string();
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(path + ": not a JSON object");
  auto has = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
  auto bad = [&](const char* k, const char* want) {
    return Error(path + ": key \"" + k + "\" must be " + want + " (got " + j[k].dump() + ")");
  };
  LoraConfig c;
  c.alpha = 8;  // PEFT's LoraConfig defaults: r 8, lora_alpha 8, lora_dropout 0
  if (has("peft_type") && j["peft_type"] != "LORA")
    return Error(path + ": peft_type " + j["peft_type"].dump() + " is not supported (only LORA)");
  if (has("r")) {
    if (!j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0) return bad("r", "a positive integer");
    c.r = j["r"].get<int>();
  }
  if (has("lora_alpha")) {
    if (!j["lora_alpha"].is_number()) return bad("lora_alpha", "a number");
    c.alpha = j["lora_alpha"].get<double>();
  }
  if (has("lora_dropout")) {
    if (!j["lora_dropout"].is_number() || j["lora_dropout"].get<double>() < 0 || j["lora_dropout"].get<double>() >= 1)
      return bad("lora_dropout", "a number in [0, 1)");
    c.dropout = j["lora_dropout"].get<double>();
  }
  if (has("use_rslora")) {
    if (!j["use_rslora"].is_boolean()) return bad("use_rslora", "true or false");
    c.use_rslora = j["use_rslora"].get<bool>();
  }
  if (has("target_modules")) {
    const json& t = j["target_modules"];
    if (t.is_string()) {
      c.target_regex = t.get<std::string>();
    } else if (t.is_array()) {
      for (const auto& x : t) {
        if (!x.is_string()) return bad("target_modules", "a list of module names or a regex string");
        c.target_modules.push_back(x.get<std::string>());
      }
    } else {
      return bad("target_modules", "a list of module names or a regex string");
    }
  }
  if (has("layers_to_transform")) {
    const json& t = j["layers_to_transform"];
    if (t.is_number_integer()) c.layers_to_transform.push_back(t.get<int>());
    else if (t.is_array())
      for (const auto& x : t) {
        if (!x.is_number_integer()) return bad("layers_to_transform", "an integer or a list of integers");
        c.layers_to_transform.push_back(x.get<int>());
      }
    else return bad("layers_to_transform", "an integer or a list of integers");
  }
  if (has("layers_pattern")) {
    const json& t = j["layers_pattern"];
    if (t.is_string()) c.layers_pattern.push_back(t.get<std::string>());
    else if (t.is_array())
      for (const auto& x : t) {
        if (!x.is_string()) return bad("layers_pattern", "a string or a list of strings");
        c.layers_pattern.push_back(x.get<std::string>());
      }
    else return bad("layers_pattern", "a string or a list of strings");
  }
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    if (!has(key)) continue;
    if (!j[key].is_object()) return bad(key, "an object {module pattern: value}");
    for (auto it = j[key].begin(); it != j[key].end(); ++it) {
      if (!it->is_number()) return bad(key, "an object {module pattern: number}");
      if (std::string(key) == "rank_pattern") c.rank_pattern[it.key()] = it->get<int>();
      else c.alpha_pattern[it.key()] = it->get<double>();
    }
  }
  // Variants whose arithmetic differs from plain LoRA are refused rather than half-applied.
  if (has("bias") && j["bias"] != "none")
    return Error(path + ": bias " + j["bias"].dump() + " is not supported (only \"none\")");
  if (has("use_dora") && j["use_dora"] != false) return Error(path + ": use_dora is not supported");
  if (has("lora_bias") && j["lora_bias"] != false) return Error(path + ": lora_bias is not supported");
  if (has("modules_to_save") && !j["modules_to_save"].empty())
    return Error(path + ": modules_to_save is not supported (only LoRA adapters are loaded)");
  if (has("exclude_modules") && !j["exclude_modules"].empty())
    return Error(path + ": exclude_modules is not supported");
  if (has("target_parameters") && !j["target_parameters"].empty())
    return Error(path + ": target_parameters is not supported");
  return c;
}

Status LoadPeftAdapter(Model& model, const std::string& adapter_dir) {
  EGRET_ASSIGN_OR_RETURN(LoraConfig config, LoadLoraConfig(adapter_dir));
  if (config.target_modules.empty() && config.target_regex.empty())
    config.target_modules = DefaultTargets(model.config().family);
  const std::string file = (fs::path(adapter_dir) / "adapter_model.safetensors").string();
  std::error_code ec;
  if (!fs::exists(file, ec) && fs::exists(fs::path(adapter_dir) / "adapter_model.bin", ec))
    return Error(adapter_dir + ": adapter_model.bin is not read; save the adapter with safe_serialization=True");
  EGRET_ASSIGN_OR_RETURN(io::WeightSource w, io::WeightSource::OpenFile(file));
  Status added = model.AddLora(config);
  if (!added.ok()) return added.error().context((fs::path(adapter_dir) / "adapter_config.json").string());
  ParamStore& p = model.params();
  std::vector<bool> seen(p.count(), false);
  for (const auto& [name, e] : w.entries()) {
    const std::string canon = StripAdapterName(name);
    const int i = p.Find(canon);
    if (i < 0 || canon.find(".lora_") == std::string::npos)
      return Error(file + ": tensor " + Quote(name) +
                   " matches no LoRA module that adapter_config.json selects in this model");
    if (e.info->shape != p.info(i).shape) {
      std::string want, got;
      for (auto d : p.info(i).shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
      for (auto d : e.info->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      return Error(file + ": tensor " + Quote(name) + " has shape [" + got + "], expected [" + want + "]");
    }
    EGRET_TRY(e.file->ReadF32(*e.info, p.value(i)));
    seen[i] = true;
  }
  for (int i = 0; i < p.count(); ++i)
    if (p.info(i).name.find(".lora_") != std::string::npos && !seen[i])
      return Error(file + ": missing tensor " + Quote(p.info(i).name));
  return Ok();
}

Status SavePeftAdapter(const Model& model, const std::string& adapter_dir, const std::string& base_model_name) {
  if (!model.has_lora()) return Error("save adapter: the model has no LoRA adapters");
  EGRET_TRY(MakeDir(adapter_dir));
  const LoraConfig& c = model.lora_config();
  json j;
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["base_model_name_or_path"] = base_model_name;
  j["r"] = c.r;
  j["lora_alpha"] = c.alpha;
  j["lora_dropout"] = c.dropout;
  j["use_rslora"] = c.use_rslora;
  j["bias"] = "none";
  j["fan_in_fan_out"] = model.config().gpt2();
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["use_dora"] = false;
  j["modules_to_save"] = nullptr;
  j["revision"] = nullptr;
  if (!c.target_regex.empty()) j["target_modules"] = c.target_regex;
  else j["target_modules"] = c.target_modules;
  j["layers_to_transform"] = c.layers_to_transform.empty() ? json(nullptr) : json(c.layers_to_transform);
  j["layers_pattern"] = c.layers_pattern.empty() ? json(nullptr) : json(c.layers_pattern);
  j["rank_pattern"] = json::object();
  for (const auto& [k, v] : c.rank_pattern) j["rank_pattern"][k] = v;
  j["alpha_pattern"] = json::object();
  for (const auto& [k, v] : c.alpha_pattern) j["alpha_pattern"][k] = v;
  EGRET_TRY(WriteFileAtomic((fs::path(adapter_dir) / "adapter_config.json").string(), j.dump(2) + "\n"));
  const ParamStore& p = model.params();
  std::vector<io::TensorToWrite> tensors;
  model.net().ForEachLinear([&](const detail::Linear& l) {
    if (l.lora_a < 0) return;
    for (int i : {l.lora_a, l.lora_b}) tensors.push_back({p.info(i).name, p.info(i).shape, p.value(i)});
  });
  return io::WriteSafetensors((fs::path(adapter_dir) / "adapter_model.safetensors").string(), tensors);
}

Status SaveMergedModel(const Model& model, const std::string& dir) {
  EGRET_TRY(MakeDir(dir));
  const ParamStore& p = model.params();
  std::vector<int> lora_of(p.count(), -1);
  std::vector<const detail::Linear*> lins;
  model.net().ForEachLinear([&](const detail::Linear& l) {
    if (l.lora_a >= 0) {
      lora_of[l.w] = static_cast<int>(lins.size());
      lins.push_back(&l);
    }
  });
  std::vector<bool> is_adapter(p.count(), false);
  for (const auto* l : lins) is_adapter[l->lora_a] = is_adapter[l->lora_b] = true;
  std::vector<std::vector<float>> merged(lins.size());
  std::vector<io::TensorToWrite> tensors;
  for (int i = 0; i < p.count(); ++i) {
    if (is_adapter[i]) continue;
    const ParamInfo& info = p.info(i);
    const float* data = p.value(i);
    if (lora_of[i] >= 0) {
      const detail::Linear& l = *lins[lora_of[i]];
      std::vector<float>& m = merged[lora_of[i]];
      m.assign(data, data + info.numel);
      const float* A = p.value(l.lora_a);  // [r, in]
      const float* B = p.value(l.lora_b);  // [out, r]
      if (l.conv1d)  // W [in, out] += scale * A^T B^T
        Sgemm(true, true, l.in, l.out, l.r, l.scale, A, l.in, B, l.r, 1.0f, m.data(), l.out);
      else  // W [out, in] += scale * B A
        Sgemm(false, false, l.out, l.in, l.r, l.scale, B, l.r, A, l.in, 1.0f, m.data(), l.in);
      data = m.data();
    }
    tensors.push_back({info.name, info.shape, data});
  }
  EGRET_TRY(io::WriteSafetensors((fs::path(dir) / "model.safetensors").string(), tensors));
  return WriteFileAtomic((fs::path(dir) / "config.json").string(),
                         ConfigJsonForExport(model.config(), "float32"));
}

}  // namespace egret::trainer
