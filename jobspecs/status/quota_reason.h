// Why egret-quotad holds (or admitted) a job, from its read-only "why:<jobid>" view.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace egret::jobspec::status {

class QuotaReasons {
 public:
  // SOCKET: quotad's Unix socket. Connects on first use; when quotad cannot be reached,
  // Why() returns "" and unreachable() says why, so status falls back to the job's comment.
  explicit QuotaReasons(std::string socket);
  ~QuotaReasons();
  std::string Why(uint32_t job_id);
  const std::string& unreachable() const { return unreachable_; }

 private:
  struct Conn;
  std::string socket_;
  std::unique_ptr<Conn> conn_;
  bool tried_ = false;
  std::string unreachable_;
};

// Pure: quotad's why answer ({"state":"queued","position":2,"reason":"..."}) as one line:
// "queued, position 2: acme: 8/8 GPUs in use on gpu ...". Text that is not such JSON is
// returned trimmed.
std::string FormatWhy(const std::string& json_text);

}  // namespace egret::jobspec::status
