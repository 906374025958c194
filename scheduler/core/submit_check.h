// Submit-time admission check (CheckSubmit): may USER, with GROUPS, submit to PARTITION as
// tenant ACCOUNT asking for GPUS? Refusals are sentences the user reads on the terminal:
//
//   egret: no tenant given: submit with -A TENANT (your tenants: acme, initech)
//   egret: unknown tenant "foo" (your tenants: acme)
//   egret: user mallory is not a member of tenant acme (members: alice, @ml-team)
//   egret: tenant acme may not use partition debug (allowed: gpu, cpu)
//   egret: tenant acme can never get 16 GPUs on gpu (at most 8: its nominal quota plus what its cohort may lend)
//   egret: tenant initech has spent its GPU-hour budget for this period (0.00 of 0 GPU-hours used; the period ends 2025-07-01 00:00 UTC)
//
// Admins (and root) may submit for any tenant that exists; membership is not required.
#pragma once

#include <string>
#include <vector>

#include "scheduler/client/quotad_client.h"
#include "scheduler/core/quota_state.h"

namespace egret::quotad {

SubmitVerdict CheckSubmitFor(const QuotaState& s, const std::string& user,
                             const std::vector<std::string>& groups, bool admin,
                             const std::string& account, const std::string& partition, int gpus,
                             int64_t now_ms);

// "2025-07-01 00:00 UTC"
std::string UtcTime(double unix_s);

}  // namespace egret::quotad
