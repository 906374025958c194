#include "jobspecs/trainer/training_keys.h"

namespace egret::jobspec::trainer {

const std::vector<TrainingKey>& TrainingKeys() {
  using T = ValueType;
  static const std::vector<TrainingKey> keys = {
      {"method", T::kString, false, 0, 0, false, {"lora", "full"}, "train.method"},
      {"steps", T::kInt, true, 1, 1e9, false, {}, "train.steps"},
      {"global_batch", T::kInt, true, 1, 1e6, false, {}, "train.global_batch"},
      {"micro_batch", T::kInt, true, 1, 1e6, false, {}, "train.micro_batch"},
      {"seq_len", T::kInt, true, 8, 1e6, false, {}, "data.seq_len"},
      {"lr", T::kFloat, true, 0, 10, true, {}, "optim.lr"},
      {"lr_schedule", T::kString, true, 0, 0, false, {"cosine", "linear", "constant"}, "optim.schedule"},
      {"warmup_steps", T::kInt, true, 0, 1e9, false, {}, "optim.warmup_steps"},
      {"weight_decay", T::kFloat, true, 0, 10, false, {}, "optim.weight_decay"},
      {"beta1", T::kFloat, true, 0, 0.999999, false, {}, "optim.beta1"},
      {"beta2", T::kFloat, true, 0, 0.999999, false, {}, "optim.beta2"},
      {"grad_clip", T::kFloat, true, 0, 1e6, false, {}, "optim.grad_clip"},
      {"seed", T::kInt, true, 0, 4294967295.0, false, {}, "train.seed"},
      {"lora.rank", T::kInt, true, 1, 4096, false, {}, "lora.rank"},
      {"lora.alpha", T::kFloat, true, 0, 1e6, true, {}, "lora.alpha"},
      {"lora.dropout", T::kFloat, true, 0, 0.999999, false, {}, "lora.dropout"},
      {"lora.targets", T::kStringList, false, 0, 0, false, {}, "lora.targets"},
  };
  return keys;
}

const TrainingKey* FindTrainingKey(std::string_view key) {
  for (const auto& k : TrainingKeys())
    if (k.key == key) return &k;
  return nullptr;
}

std::vector<std::string> TrainingTableKeys(std::string_view table) {
  std::vector<std::string> out;
  for (const auto& k : TrainingKeys()) {
    auto dot = k.key.find('.');
    if (table.empty()) {
      if (dot == std::string::npos) out.push_back(k.key);
    } else if (dot != std::string::npos && k.key.substr(0, dot) == table) {
      out.push_back(k.key.substr(dot + 1));
    }
  }
  if (table.empty()) out.push_back("lora");
  return out;
}

std::vector<std::string> SweepableKeys() {
  std::vector<std::string> out;
  for (const auto& k : TrainingKeys())
    if (k.sweepable) out.push_back(k.key);
  return out;
}

}  // namespace egret::jobspec::trainer
