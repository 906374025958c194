// What a run reports: one JSON object per line in metrics.jsonl (train steps, evaluations,
// the run's start and end), a one-line progress report on rank 0, and a loss-curve PNG.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::train {

class MetricsLog {
 public:
  // Opens PATH for appending. When resuming from step RESUME_STEP, lines of later steps (from
  // the interrupted attempt) are dropped first, so the log reads as one uninterrupted run.
  static Result<MetricsLog> Open(const std::string& path, int64_t resume_step);
  MetricsLog(MetricsLog&& o) noexcept : path_(std::move(o.path_)), f_(o.f_) { o.f_ = nullptr; }
  MetricsLog& operator=(MetricsLog&&) = delete;
  ~MetricsLog();
  const std::string& path() const { return path_; }
  // Appends one line and flushes it (a crash loses at most the line being written).
  Status Append(const nlohmann::json& record);

 private:
  MetricsLog(std::string path, FILE* f) : path_(std::move(path)), f_(f) {}
  std::string path_;
  FILE* f_ = nullptr;
};

// "step 12/100 | loss 2.3456 | lr 1.20e-04 | 1234 tok/s | ETA 1m23s"
std::string ProgressLine(int64_t step, int64_t total, double loss, double lr, double tokens_per_s, double eta_s);
std::string FormatDuration(double seconds);

// Draws the train (and eval) loss of METRICS_PATH into PNG_PATH with gnuplot. Returns an
// error (for a warning; never fatal to a job) when gnuplot is missing or fails.
Status PlotLoss(const std::string& metrics_path, const std::string& png_path);

}  // namespace egret::train
