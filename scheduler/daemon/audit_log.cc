#include "scheduler/daemon/audit_log.h"

#include <cerrno>
#include <cstring>
#include <memory>

namespace egret::quotad {

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) return Error("cannot open audit log " + path + ": " + std::strerror(errno));
  return std::unique_ptr<AuditLog>(new AuditLog(f, path));
}

AuditLog::~AuditLog() {
  Flush();
  std::fclose(file_);
}

void AuditLog::Record(const std::string& event, nlohmann::json fields, double now_s) {
  fields["time"] = now_s;
  fields["event"] = event;
  std::string line = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> l(mu_);
  buffer_ += line;
  buffer_ += '\n';
}

void AuditLog::RecordFields(std::string_view event, double now_s,
                            const std::function<void(JsonObject&)>& fill) {
  std::string line;
  line.reserve(256);
  JsonObject o(&line);
  fill(o);
  o.Num("time", now_s).Str("event", event);
  o.Close();
  line += '\n';
  std::lock_guard<std::mutex> l(mu_);
  buffer_ += line;
}

void AuditLog::Flush() {
  std::string out;
  {
    std::lock_guard<std::mutex> l(mu_);
    out.swap(buffer_);
  }
  if (out.empty()) return;
  std::fwrite(out.data(), 1, out.size(), file_);
  std::fflush(file_);
}

}  // namespace egret::quotad
