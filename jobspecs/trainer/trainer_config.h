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

// job.toml (egret-train's schema version 1) as heredoc text. It refers to shell variables
// the script sets: RUN_DIR (the run directory in the tenant's view: egret-train's
// output.dir), STATUS_DIR (the job's status directory next to its log, read by
// `egret status`), and SWEEP_* for swept settings.
std::string JobConfig(const Jobspec& spec);

// The command after `srun ...`, as shell words; "$EGRET_TRAIN" is the binary.
std::string FinetuneCommand();
// egret-train eval of the spec's model (+ adapter) on its eval sets, writing
// $STATUS_DIR/eval.json.
std::string EvalCommand(const Jobspec& spec);

// Files the trainer writes into STATUS_DIR, read by `egret status`.
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kEvalFile = "eval.json";

// metrics.jsonl: one object per line with "type" start | train | eval | checkpoint | end.
// start has total_steps; train has step, loss, lr, tokens_per_s; eval has eval_loss,
// perplexity, exact_match; end has status (finished | preempted).
inline constexpr const char* kTypeKey = "type";
inline constexpr const char* kStepKey = "step";
inline constexpr const char* kTotalStepsKey = "total_steps";
inline constexpr const char* kLossKey = "loss";
inline constexpr const char* kLrKey = "lr";
inline constexpr const char* kThroughputKey = "tokens_per_s";

}  // namespace egret::jobspec::trainer
