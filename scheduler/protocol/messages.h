// The JSON bodies carried by frames (see frame.h). A request is an object with "op" and the
// op's arguments; a reply is {"ok": true, ...} or {"ok": false, "code": C, "error": TEXT}.
//
//   op            arguments                               reply (ok)
//   ping          -                                        uid, version
//   check_submit  account, partition, gpus                 allowed, reason
//   acquire       job_id, tenant, partition, gpus          decision (granted|borrowed|denied),
//                                                          reason, lease (unless denied)
//   release       job_id, end_time (unix s, number)        charged (GPU-unit-seconds), closed
//   heartbeat     job_ids [..]                             alive [..], unknown [..]
//   get_lease     job_id                                   lease
//   query         view ("tenants", "shares", "usage",      result (any JSON value)
//                 "queue", "leases", "budget", "why:ID")
//   reload        -                                        message
//
// Error codes: bad_request, forbidden, not_found, unavailable, internal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "scheduler/client/quotad_client.h"

namespace egret::quotad {

namespace code {
inline constexpr const char* kBadRequest = "bad_request";
inline constexpr const char* kForbidden = "forbidden";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kUnavailable = "unavailable";
inline constexpr const char* kInternal = "internal";
}  // namespace code

std::string ErrorBody(std::string_view code, std::string_view message);

// Field accessors that never throw: absent or mistyped fields give nullopt.
std::optional<std::string> GetString(const nlohmann::json& j, const char* key);
std::optional<int64_t> GetInt(const nlohmann::json& j, const char* key);
std::optional<double> GetNumber(const nlohmann::json& j, const char* key);
std::optional<bool> GetBool(const nlohmann::json& j, const char* key);

// Parses a body without exceptions; an error says why.
Result<nlohmann::json> ParseBody(std::string_view body);

// The lease fields every consumer relies on; the daemon adds more.
Result<Lease> LeaseFromJson(const nlohmann::json& j);
const char* LeaseStateName(LeaseState s);

}  // namespace egret::quotad
