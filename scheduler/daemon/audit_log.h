// The audit log: one JSON object per line for every decision (grant, borrow, denial, queue
// reason change, release, expiry, preemption, reconciliation, reload, refused request).
// Records are buffered and written in batches (after each ledger commit and each queue pass),
// so logging never adds a write per request. An empty path disables it.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "scheduler/protocol/json_text.h"

namespace egret::quotad {

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  // Adds "time" (unix seconds) and "event" to FIELDS and queues the line.
  void Record(const std::string& event, nlohmann::json fields, double now_s);
  // The same, with the fields written by FILL (the hot paths: acquire and release).
  void RecordFields(std::string_view event, double now_s, const std::function<void(JsonObject&)>& fill);
  void Flush();
  const std::string& path() const { return path_; }

 private:
  AuditLog(std::FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  std::mutex mu_;
  std::FILE* file_;
  std::string path_;
  std::string buffer_;
};

}  // namespace egret::quotad
