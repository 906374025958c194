// LoRA adapters on the model's linear layers, with PEFT's conventions: for a targeted module
// M with weight W, y = W x + b + scale * B (A dropout(x)), scale = alpha / r (alpha / sqrt(r)
// with use_rslora), A [r, in] kaiming-uniform, B [out, r] zero. The merged weight is never
// materialised during training. A and B are parameters in the model's buffer under PEFT's
// saved names: "base_model.model.<M>.lora_A.weight" / ".lora_B.weight".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace egret::trainer {

class Model;

struct LoraConfig {
  int r = 8;
  double alpha = 16;
  double dropout = 0.0;  // applied to the adapter's input during ForwardBackward only
  bool use_rslora = false;
  // Module selection, as PEFT's target_modules: a list matches a module whose name equals an
  // entry or ends with "." + entry; a string is a regex matched against the whole name, or
  // "all-linear". Exactly one of the two is set.
  std::vector<std::string> target_modules;
  std::string target_regex;
  std::vector<int> layers_to_transform;      // empty: all layers
  std::vector<std::string> layers_pattern;   // e.g. "layers" or "h"
  std::map<std::string, int> rank_pattern;   // module pattern -> r
  std::map<std::string, double> alpha_pattern;
  uint64_t seed = 0;  // initialises A and drives dropout
};

// Reads adapter_config.json (PEFT format); errors name the file and key.
Result<LoraConfig> LoadLoraConfig(const std::string& adapter_dir);

// Loads a PEFT adapter directory (adapter_config.json + adapter_model.safetensors) into the
// model: adds the adapters (base frozen) and sets A and B from the file. Tensor names are
// accepted with or without PEFT's ".default" adapter suffix.
Status LoadPeftAdapter(Model& model, const std::string& adapter_dir);

// Writes adapter_config.json and adapter_model.safetensors (F32) as PEFT's save_pretrained does.
Status SavePeftAdapter(const Model& model, const std::string& adapter_dir,
                       const std::string& base_model_name = "");

// Writes config.json and model.safetensors (F32) with HF names, adapters merged into the base
// weights (W + scale * B A), loadable by transformers' from_pretrained.
Status SaveMergedModel(const Model& model, const std::string& dir);

}  // namespace egret::trainer
