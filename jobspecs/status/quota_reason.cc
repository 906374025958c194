#include "jobspecs/status/quota_reason.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

#ifdef EGRET_HAVE_QUOTAD_CLIENT
#include "scheduler/client/quotad_client.h"
#endif

namespace egret::jobspec::status {

struct QuotaReasons::Conn {
#ifdef EGRET_HAVE_QUOTAD_CLIENT
  std::unique_ptr<quotad::Client> client;
#endif
};

QuotaReasons::QuotaReasons(std::string socket) : socket_(std::move(socket)) {}
QuotaReasons::~QuotaReasons() = default;

std::string QuotaReasons::Why(uint32_t job_id) {
#ifdef EGRET_HAVE_QUOTAD_CLIENT
  if (!tried_) {
    tried_ = true;
    auto c = quotad::Client::Connect(socket_, 2.0);
    if (c.ok()) {
      conn_ = std::make_unique<Conn>();
      conn_->client = std::move(*c);
    } else {
      unreachable_ = c.error().message();
    }
  }
  if (!conn_) return "";
  auto r = conn_->client->Query("why:" + std::to_string(job_id));
  if (!r.ok()) return "";  // quotad knows nothing of it (not in a managed partition, ...)
  return FormatWhy(*r);
#else
  (void)job_id;
  if (!tried_) {
    tried_ = true;
    unreachable_ = "this egret was built without the egret-quotad client";
  }
  return "";
#endif
}

std::string FormatWhy(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::string(Trim(text));
  std::string out = j.value("state", "");
  std::string reason = j.value("reason", "");
  if (j.contains("position") && j["position"].is_number() && reason.find("position") == std::string::npos)
    out += (out.empty() ? "" : ", ") + std::string("position ") + std::to_string(j["position"].get<int64_t>());
  if (!reason.empty()) out += (out.empty() ? "" : ": ") + reason;
  return out;
}

}  // namespace egret::jobspec::status
