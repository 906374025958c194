#include "scheduler/protocol/messages.h"

namespace egret::quotad {

using nlohmann::json;

std::string ErrorBody(std::string_view code, std::string_view message) {
  json j = {{"ok", false}, {"code", code}, {"error", message}};
  // Invalid UTF-8 in MESSAGE (it may quote client input) is replaced, never thrown on.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> GetString(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get_ref<const std::string&>();
}

std::optional<int64_t> GetInt(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

std::optional<double> GetNumber(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<bool> GetBool(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

Result<json> ParseBody(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error("body is not valid JSON");
  if (!j.is_object()) return Error("body must be a JSON object");
  return j;
}

const char* LeaseStateName(LeaseState s) {
  return s == LeaseState::kBorrowed ? "borrowed" : "granted";
}

Result<Lease> LeaseFromJson(const json& j) {
  Lease l;
  auto job = GetInt(j, "job_id");
  auto tenant = GetString(j, "tenant");
  auto partition = GetString(j, "partition");
  auto gpus = GetInt(j, "gpus");
  auto state = GetString(j, "state");
  auto granted = GetNumber(j, "granted_at");
  if (!job || !tenant || !partition || !gpus || !state || !granted)
    return Error("lease reply lacks job_id, tenant, partition, gpus, state or granted_at");
  if (*job < 0 || *job > UINT32_MAX) return Error("lease reply has job_id out of range");
  l.job_id = static_cast<uint32_t>(*job);
  l.tenant = *tenant;
  l.partition = *partition;
  l.gpus = static_cast<int>(*gpus);
  l.state = *state == "borrowed" ? LeaseState::kBorrowed : LeaseState::kGranted;
  l.granted_at_s = static_cast<int64_t>(*granted);
  return l;
}

}  // namespace egret::quotad
