// The rules that decide whether a job step may start, over plain facts: what slurmctld says
// about the job and what egret-quotad says about its lease. Pure, so every verdict and every
// message the user reads is unit-tested; the SPANK side only gathers the facts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/config.h"
#include "scheduler/client/quotad_client.h"

namespace egret::plugin {

// What slurmctld says about a job (never the job's environment).
struct JobFacts {
  uint32_t job_id = 0;
  uint32_t user_id = 0;
  std::string account;    // the tenant; empty when the job has none
  std::string partition;  // the partition it runs in
  int64_t gpus = 0;
  int64_t start_time = 0;
  int64_t end_time = 0;   // 0 while running
};

// PARTITION (or, for a submission, every partition of a comma list) needs an admission
// lease unless it is listed as unmanaged.
bool IsManaged(const Config& config, std::string_view partition);

// Why LEASE does not cover JOB, or nothing when it does (same tenant, partition and GPUs).
std::optional<std::string> LeaseMismatch(const quotad::Lease& lease, const JobFacts& job);

// Whether TENANT is one of the tenants in egret-quotad's "tenants" view (a JSON array of
// objects with a "tenant" name). Asked as the job's user, the view lists exactly the tenants
// that user belongs to (admins see all). Errors when the text is not such a view.
Result<bool> TenantListed(std::string_view tenants_view, std::string_view tenant);

// "egret: WHY; job N not started" — the one shape of every refusal at step start.
std::string NotStarted(uint32_t job_id, std::string_view why);

// Prefixes "egret: " unless MESSAGE already starts with it.
std::string WithPrefix(std::string_view message);

// --tenant against the job's account at submission. Returns the account to submit with, or
// an error the user reads. Both empty: no tenant (fine on unmanaged partitions only).
struct TenantChoice {
  std::string account;
  bool set_account = false;  // the account was empty and comes from --tenant
};
Result<TenantChoice> ChooseTenant(std::string_view tenant_option, std::string_view account);

}  // namespace egret::plugin
