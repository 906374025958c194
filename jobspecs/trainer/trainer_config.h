// What the batch script hands egret-train: its job.toml (rendered into the job through an
// unquoted heredoc, so the tenant-view variables expand on the node) and its command lines.
// With training_keys.cc this is the only place that knows egret-train's interface.
#pragma once

#include <string>

#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec::trainer {

// egret-train's exit status after it checkpointed on SIGUSR1/SIGTERM: the job can be
// requeued and resumes with --resume auto.
inline constexpr int kPreemptedExitCode = 75;

// job.toml as heredoc text. It refers to shell variables the script sets: RUN_DIR (the
// job's checkpoint/output directory in the tenant's view), STATUS_DIR (the job's status
// directory next to its log, read by `egret status`), and SWEEP_* for swept settings.
std::string JobConfig(const Jobspec& spec);

// The command after `srun ...`, as shell words; "$EGRET_TRAIN" is the binary.
std::string FinetuneCommand();
std::string EvalCommand();

// Files the trainer writes into STATUS_DIR, read by `egret status`.
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kEvalFile = "eval.json";

// Metrics JSONL keys, in the order they are looked for.
inline constexpr const char* kThroughputKeys[] = {"tokens_per_s", "tok_per_s", "tokens_per_sec"};
inline constexpr const char* kStepKey = "step";
inline constexpr const char* kTotalStepsKeys[] = {"total_steps", "steps"};
inline constexpr const char* kLossKey = "loss";

}  // namespace egret::jobspec::trainer
