// A jobspec: what a tenant asks to run, after parsing and validation (jobspecs/README.md is
// the schema). Plain data; parse.h builds it, render/ turns it into an sbatch script.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "jobspecs/cron/schedule.h"

namespace egret::jobspec {

enum class Kind { kFinetune, kEval, kBenchmark };
const char* KindName(Kind kind);

// A path as the job sees it. Relative paths live in the tenant's isolated view and are
// resolved inside the job from the variables egret.so sets (data/ -> EGRET_DATA_DIR,
// models/ -> EGRET_MODELS_DIR, checkpoints/ -> EGRET_CKPT_DIR); absolute paths are kept.
struct ViewPath {
  enum class Root { kAbsolute, kData, kModels, kCheckpoints };
  Root root = Root::kAbsolute;
  std::string rest;  // below the root ("acme/train.h5"), or the whole absolute path
};

// One value of a [training] setting.
using Value = std::variant<bool, int64_t, double, std::string, std::vector<std::string>>;

// A [training] setting under its dotted key ("lr", "lora.rank"). Several values make a
// sweep: the job becomes an array with one task per combination of all swept settings.
struct Setting {
  std::string key;
  std::vector<Value> values;
  bool swept() const { return values.size() > 1; }
};

struct Resources {
  std::string partition;
  int nodes = 1;
  int ranks_per_node = 1;  // MPI ranks = Slurm tasks per node
  int gpus_per_node = 0;
  int cpus_per_rank = 1;
  std::string mem_per_cpu;  // Slurm size ("2G"), empty = the partition's default
  int64_t time_limit_s = 3600;
};

struct Preemption {
  bool enabled = true;
  std::string signal = "USR1";  // Slurm's name, without SIG
  int seconds_before = 120;     // before the time limit
  bool requeue = true;
};

// The run directory (egret-train's output.dir): checkpoints/, the exported adapter/ or
// model/, loss.png. Placeholders {name}, {tenant}, {job} (the job id, or the array's id),
// {task} (the array task).
struct Checkpoint {
  std::string dir = "checkpoints/{name}/{job}";
  int64_t every_steps = -1;  // -1 = the trainer's default
  int64_t keep_last = -1;
};

struct Eval {
  std::optional<ViewPath> dataset;      // HDF5 eval set: mean loss and perplexity
  std::optional<ViewPath> exact_match;  // prompt/answer JSONL scored by greedy generation
  int64_t max_new_tokens = -1;          // -1 = the trainer's default
  int64_t every_steps = -1;             // finetune: evaluate every N steps (0 = at the end)
  std::optional<bool> chat;             // exact-match prompts as a chat user turn
};

struct Benchmark {
  std::optional<cron::Schedule> schedule;  // none = a single run
  std::string workload = "gemm";          // "gemm" (built in) or "finetune" (a few steps)
  int gemm_size = 1024;
  int repeats = 5;
  std::string results = "checkpoints/bench/{name}.jsonl";  // in the tenant's view
};

struct Jobspec {
  std::string source;  // the file it came from, for messages
  Kind kind = Kind::kFinetune;
  std::string name;
  std::string tenant;
  Resources resources;
  std::optional<ViewPath> model;
  std::optional<ViewPath> adapter;  // a PEFT adapter to start from or to evaluate
  std::vector<ViewPath> train_data;  // one or more datasets from egret-data import
  std::vector<Setting> training;    // in file order; the trainer applies its defaults
  Eval eval;
  Checkpoint checkpoint;
  Preemption preemption;
  std::string output_dir = "egret-runs";  // on the submitting host, relative to its cwd
  std::optional<Benchmark> benchmark;

  // Array tasks: the product of the sweep sizes (1 without a sweep), saturating at 1<<30.
  int64_t TaskCount() const;
  bool IsSweep() const { return TaskCount() > 1; }
};

}  // namespace egret::jobspec
