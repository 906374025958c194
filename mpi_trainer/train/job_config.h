// The fine-tuning job file (job.toml, schema in train/README.md) and its command-line
// overrides. Unknown keys and wrong types are errors naming file:line, the key and the valid
// choices; every value is range-checked here so the trainer never sees a bad one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::train {

constexpr int64_t kJobSchemaVersion = 1;

enum class Mode { kLora, kFull };
enum class ScheduleKind { kCosine, kLinear, kConstant };
const char* ModeName(Mode m);
const char* ScheduleKindName(ScheduleKind k);

struct LoraConfig {
  int64_t r = 8;
  double alpha = 16;
  double dropout = 0;
  // PEFT semantics. A list: a module matches when its full name equals an entry or ends with
  // "." + entry (e.g. "q_proj"). A single string (target_regex): a regex that must match the
  // whole module name, or "all-linear". Exactly one of the two is set.
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  std::string target_regex;
};

struct OptimizerConfig {
  double lr = 1e-4;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
};

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kCosine;
  int64_t warmup_steps = 0;
  double min_lr = 0;
};

struct CheckpointConfig {
  std::string dir;          // absolute after loading (default <output.dir>/checkpoints)
  int64_t every_steps = 0;  // 0: only at the end and on preemption
  int64_t keep_last = 3;
};

struct EvalConfig {
  int64_t every_steps = 0;  // 0: only at the end (when a dataset or exact_match is given)
  std::string dataset;      // HDF5 eval set: mean loss and perplexity
  std::string exact_match;  // JSONL of {"prompt", "answer"}: greedy generation, exact match
  int64_t max_new_tokens = 64;
  bool chat = false;        // render exact-match prompts as a user turn with the chat template
};

struct JobConfig {
  std::string source;  // the job file (for messages)
  int64_t version = kJobSchemaVersion;

  std::string model_path;
  std::string adapter_path;  // a PEFT adapter to start from (lora mode)
  std::vector<std::string> datasets;

  std::string output_dir;
  std::string metrics_path;  // absolute after loading (default <output.dir>/metrics.jsonl)
  int64_t log_every_steps = 1;
  bool plot = true;

  Mode mode = Mode::kLora;
  int64_t seed = 0;
  int64_t steps = 0;   // exactly one of steps and epochs is > 0
  double epochs = 0;
  int64_t micro_batch_size = 1;
  int64_t global_batch_size = 0;  // 0: micro_batch_size * grad_accum * ranks
  int64_t grad_accum = 0;         // 0: derived from global_batch_size (or 1)
  double max_grad_norm = 1.0;     // 0 disables clipping

  LoraConfig lora;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  CheckpointConfig checkpoint;
  EvalConfig eval;
};

// Reads PATH and applies OVERRIDES ("key=value", key as in the file: "train.steps=100",
// "optimizer.betas=[0.9, 0.95]"; a value that is not TOML is taken as a string). Relative
// paths in the file are relative to the file's directory; in overrides, to the working directory.
Result<JobConfig> LoadJobConfig(const std::string& path, const std::vector<std::string>& overrides = {});
// The same, from text (tests; SOURCE names it in messages, BASE_DIR anchors relative paths).
Result<JobConfig> ParseJobConfig(const std::string& text, const std::string& source, const std::string& base_dir,
                                 const std::vector<std::string>& overrides = {});

// The batch geometry for a world of RANKS ranks.
struct BatchPlan {
  int64_t micro_batch_size = 1, grad_accum = 1, global_batch_size = 1;
};
Result<BatchPlan> PlanBatches(const JobConfig& c, int ranks);

// The settings that decide the training trajectory, as flat "section.key" -> value. A
// checkpoint records them and resuming requires them equal; paths, checkpoint/eval/logging
// settings and the micro-batch split (which only changes fp32 summation order) are left out.
nlohmann::json TrajectorySettings(const JobConfig& c, const BatchPlan& plan);

}  // namespace egret::train
