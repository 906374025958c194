#include "scheduler/core/submit_check.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/strings.h"
#include "scheduler/policy/budget.h"
#include "scheduler/policy/quota.h"

namespace egret::quotad {

std::string UtcTime(double unix_s) {
  time_t t = static_cast<time_t>(unix_s);
  tm g{};
  gmtime_r(&t, &g);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &g);
  return buf;
}

namespace {

std::string Names(const std::vector<const config::Tenant*>& ts) {
  std::vector<std::string> n;
  for (const auto* t : ts) n.push_back(t->name);
  return n.empty() ? "none" : Join(n, ", ");
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

SubmitVerdict CheckSubmitFor(const QuotaState& s, const std::string& user,
                             const std::vector<std::string>& groups, bool admin,
                             const std::string& account, const std::string& partition, int gpus,
                             int64_t now_ms) {
  const config::Config& c = s.config();
  auto mine = c.TenantsOf(user, groups);
  SubmitVerdict v;
  if (account.empty()) {
    v.reason = mine.empty() ? "egret: user " + user +
                                  " belongs to no tenant; ask an egret admin to add you to one"
                            : "egret: no tenant given: submit with -A TENANT (your tenants: " +
                                  Names(mine) + ")";
    return v;
  }
  const config::Tenant* t = c.FindTenant(account);
  if (!t) {
    v.reason = "egret: unknown tenant \"" + account + "\" (your tenants: " + Names(mine) + ")";
    return v;
  }
  bool member = false;
  for (const auto* m : mine) member = member || m == t;
  if (!member && !admin) {
    std::vector<std::string> names;
    for (const auto& m : t->members)
      names.push_back(m.kind == config::Member::Kind::kGroup ? "@" + m.name : m.name);
    v.reason = "egret: user " + user + " is not a member of tenant " + account + " (members: " +
               (names.empty() ? std::string("none") : Join(names, ", ")) + ")";
    return v;
  }
  if (!t->Allows(partition)) {
    v.reason = "egret: tenant " + account + " may not use partition " + partition + " (allowed: " +
               (t->allowed_partitions.empty() ? std::string("none") : Join(t->allowed_partitions, ", ")) +
               ")";
    return v;
  }
  int ti = s.TenantIndex(account), pi = s.PartitionIndex(partition);
  if (ti >= 0 && pi >= 0 && s.spec().partitions[static_cast<size_t>(pi)].managed && gpus > 0) {
    double most = policy::MaxAttainable(s.spec(), ti, pi, s.options());
    if (gpus > most + 1e-9) {
      v.reason = "egret: tenant " + account + " can never get " + std::to_string(gpus) +
                 " GPUs on " + partition + " (at most " + Fixed(most, 0) +
                 ": its nominal quota plus what its cohort may lend)";
      return v;
    }
  }
  if (ti >= 0 && t->budget_gpu_hours) {
    double budget = *t->budget_gpu_hours;
    double used_h = s.BudgetOf(ti, now_ms).used_gpu_s / 3600.0;
    if (used_h >= budget) {
      policy::PeriodBounds p = policy::BudgetPeriodAt(s.spec().budget_period,
                                                      s.spec().budget_period_start,
                                                      static_cast<double>(now_ms) / 1000.0);
      v.reason = "egret: tenant " + account + " has spent its GPU-hour budget for this period (" +
                 Fixed(used_h, 2) + " of " + Fixed(budget, budget == std::floor(budget) ? 0 : 2) + " GPU-hours used; the period ends " +
                 UtcTime(p.end) + ")";
      return v;
    }
  }
  v.allowed = true;
  return v;
}

}  // namespace egret::quotad
