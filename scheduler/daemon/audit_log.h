// The audit log: one JSON object per line for every decision (grant, borrow, denial, queue
// reason change, release, expiry, preemption, reconciliation, reload, refused request).
// Records are buffered and written in batches (after each ledger commit and each queue pass),
// so logging never adds a write per request. An empty path disables it.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::quotad {

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  // Adds "time" (unix seconds) and "event" to FIELDS and queues the line.
  void Record(const std::string& event, nlohmann::json fields, double now_s);
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
