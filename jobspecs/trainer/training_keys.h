// The [training] keys a jobspec accepts: their types, bounds, whether a sweep may vary them,
// and where each one goes in egret-train's job.toml (schema version 1,
// mpi_trainer/train/job.example.toml). The names are egret-train's own, so a key means the
// same in both files. With trainer_config.cc this is the only place that knows
// egret-train's configuration.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace egret::jobspec::trainer {

// kStringOrList: a list of strings, or one string (egret-train's lora.target_modules takes
// a regex or "all-linear" as a single string).
enum class ValueType { kBool, kInt, kFloat, kString, kStringList, kStringOrList };

struct TrainingKey {
  std::string key;  // under [training], dotted: "lr", "lora.rank"
  ValueType type;
  bool sweepable;
  double lo = 0, hi = 0;  // inclusive bounds for numbers
  bool lo_exclusive = false;
  std::vector<std::string> choices;  // for strings
  std::string trainer_key;           // "section.key" in egret-train's job.toml
  bool hi_exclusive = false;
};

const std::vector<TrainingKey>& TrainingKeys();
const TrainingKey* FindTrainingKey(std::string_view key);
// Keys directly under [training] (with "lora" for the sub-table), for unknown-key messages.
std::vector<std::string> TrainingTableKeys(std::string_view table /* "" or "lora" */);
std::vector<std::string> SweepableKeys();

}  // namespace egret::jobspec::trainer
