#include "jobspecs/trainer/training_keys.h"

#include <limits>

namespace egret::jobspec::trainer {

const std::vector<TrainingKey>& TrainingKeys() {
  using T = ValueType;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // key, type, sweepable, lo, hi, lo_exclusive, choices, trainer_key, hi_exclusive
  static const std::vector<TrainingKey> keys = {
      {"mode", T::kString, false, 0, 0, false, {"lora", "full"}, "train.mode"},
      {"steps", T::kInt, true, 1, 1e12, false, {}, "train.steps"},
      {"epochs", T::kFloat, true, 0, 1e6, true, {}, "train.epochs"},
      {"global_batch_size", T::kInt, true, 1, 1e9, false, {}, "train.global_batch_size"},
      {"micro_batch_size", T::kInt, true, 1, 1e9, false, {}, "train.micro_batch_size"},
      {"grad_accum", T::kInt, true, 1, 1e9, false, {}, "train.grad_accum"},
      {"max_grad_norm", T::kFloat, true, 0, kInf, false, {}, "train.max_grad_norm"},
      {"seed", T::kInt, true, 0, 9.2e18, false, {}, "train.seed"},
      {"lr", T::kFloat, true, 0, kInf, true, {}, "optimizer.lr"},
      {"beta1", T::kFloat, true, 0, 1, false, {}, "optimizer.betas[0]", true},
      {"beta2", T::kFloat, true, 0, 1, false, {}, "optimizer.betas[1]", true},
      {"eps", T::kFloat, true, 0, kInf, true, {}, "optimizer.eps"},
      {"weight_decay", T::kFloat, true, 0, kInf, false, {}, "optimizer.weight_decay"},
      {"schedule", T::kString, true, 0, 0, false, {"cosine", "linear", "constant"}, "schedule.kind"},
      {"warmup_steps", T::kInt, true, 0, 1e12, false, {}, "schedule.warmup_steps"},
      {"min_lr", T::kFloat, true, 0, kInf, false, {}, "schedule.min_lr"},
      {"lora.r", T::kInt, true, 1, 65536, false, {}, "lora.r"},
      {"lora.alpha", T::kFloat, true, 0, kInf, true, {}, "lora.alpha"},
      {"lora.dropout", T::kFloat, true, 0, 1, false, {}, "lora.dropout", true},
      {"lora.target_modules", T::kStringOrList, false, 0, 0, false, {}, "lora.target_modules"},
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
