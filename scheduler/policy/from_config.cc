#include "scheduler/policy/from_config.h"

#include <algorithm>

namespace egret::policy {

Spec SpecFromConfig(const config::Config& config) {
  Spec spec;
  spec.half_life_s = config.decay_half_life_s;
  switch (config.budget_period) {
    case config::BudgetPeriod::kDaily: spec.budget_period = Period::kDaily; break;
    case config::BudgetPeriod::kWeekly: spec.budget_period = Period::kWeekly; break;
    case config::BudgetPeriod::kMonthly: spec.budget_period = Period::kMonthly; break;
  }
  spec.budget_period_start = static_cast<Time>(config.budget_period_start_s);
  for (const auto& p : config.partitions)
    spec.partitions.push_back({p.name, p.capacity_gpus, p.weight, p.managed});
  for (const auto& t : config.tenants) {
    TenantSpec ts;
    ts.name = t.name;
    ts.shares = t.shares;
    if (!t.cohort.empty()) {
      auto it = std::find(spec.cohorts.begin(), spec.cohorts.end(), t.cohort);
      ts.cohort = static_cast<int>(it - spec.cohorts.begin());
      if (it == spec.cohorts.end()) spec.cohorts.push_back(t.cohort);
    }
    for (const auto& p : config.partitions) {
      QuotaSpec q{0, 0, 0};
      if (const config::Quota* cq = t.FindQuota(p.name)) {
        q.nominal = cq->nominal_gpus;
        q.borrowing_limit = cq->borrowing_limit;
        q.lending_limit = cq->lending_limit;
      } else if (!t.cohort.empty()) {
        // No quota here: nothing to lend, and borrowing is as open as the cohort allows.
        q.borrowing_limit = kUnlimited;
      }
      ts.quota.push_back(q);
      ts.allowed.push_back(t.Allows(p.name));
    }
    ts.budget_gpu_hours = t.budget_gpu_hours ? *t.budget_gpu_hours : kUnlimited;
    spec.tenants.push_back(std::move(ts));
  }
  return spec;
}

}  // namespace egret::policy
