// The read-only views served by the "query" op and printed by egretctl. Each is plain JSON
// built from QuotaState; SCOPE limits rows to the tenants a caller may see (users see their
// own tenants, admins everything).
//
//   tenants  config per tenant: shares, cohort, members, quotas, budget, allowed partitions
//   shares   like sshare: raw shares, normalised shares, raw (decayed) usage, normalised
//            usage, fairshare factor
//   usage    GPUs in use per tenant and partition: nominal, in use, borrowed, lendable
//   queue    pending jobs in managed partitions with position and reason
//   leases   open leases (and closed ones awaiting reconciliation), jobs running unleased
//   budget   GPU-hours per tenant in the current period
//   why:ID   why job ID waits, or what lease it holds
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "scheduler/core/quota_state.h"

namespace egret::quotad {

struct Scope {
  bool all = false;
  std::set<std::string> tenants;
  bool Sees(const std::string& tenant) const { return all || tenants.count(tenant) > 0; }
};

// The known views, for help and errors.
inline constexpr const char* kViews = "tenants, shares, usage, queue, leases, budget, why:JOBID";

nlohmann::json LeaseJson(const LeaseRecord& l, int64_t now_ms);
// The same object as text, written directly (the hot path: get_lease, acquire replies).
std::string LeaseJsonText(const LeaseRecord& l, int64_t now_ms);

// VIEW is one of kViews. Errors: an unknown view (bad_request) or, for why:ID, a job the caller
// may not see or that egret-quotad does not know (the message says which).
Result<nlohmann::json> BuildView(const QuotaState& s, const std::string& view, const Scope& scope,
                                 int64_t now_ms, std::string* error_code);

}  // namespace egret::quotad
