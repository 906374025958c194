// `egret status`: a job's Slurm state, why quotad holds it, its training progress (the
// trainer's metrics JSONL in the job's status directory) and its eval results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobspecs/slurm/jobs.h"
#include "jobspecs/status/quota_reason.h"

namespace egret::jobspec::status {

struct Progress {
  bool have = false;
  int64_t step = -1;
  int64_t total = -1;
  std::optional<double> loss, tokens_per_s, lr;  // from the last train line
  std::optional<nlohmann::json> last_eval;       // the last evaluation during training
  std::string end_status;                        // "finished", "preempted", or ""
};

struct JobStatus {
  slurm::Job job;
  std::string status_dir;  // "" when the job has none (not an egret job, or not started)
  std::string quota;       // quotad's reason, else the job's comment
  Progress progress;
  std::optional<nlohmann::json> eval;
};

// Pure: the status directory of an egret job, from its log path (<runs_dir>/<id>.out).
std::string StatusDirOf(const slurm::Job& job);

// Pure: progress from (the tail of) egret-train's metrics.jsonl: the last step, the last
// train line's loss/lr/tokens per second, the last eval, how the run ended. TOTAL_FROM_CONFIG
// is the total when no start line (with total_steps) is in the text (-1: unknown).
Progress ParseProgress(const std::string& metrics_text, int64_t total_from_config);

// Reads the job's status directory and asks quotad (REASONS may be null).
JobStatus Collect(const slurm::Job& job, QuotaReasons* reasons);

std::string RenderTable(const std::vector<JobStatus>& jobs);
std::string RenderDetail(const JobStatus& s);
nlohmann::json ToJson(const JobStatus& s);

// "loss=1.234 ppl=3.43 exact_match=0.500": an eval result's numbers in one line.
std::string EvalSummary(const nlohmann::json& eval, size_t max_items = 4);

}  // namespace egret::jobspec::status
