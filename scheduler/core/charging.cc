#include "scheduler/core/charging.h"

#include <algorithm>

#include "scheduler/policy/budget.h"
#include "scheduler/policy/fairshare.h"

namespace egret::quotad {

double ChargeUnits(double rate, int64_t start_ms, int64_t end_ms) {
  if (end_ms <= start_ms) return 0;
  return rate * Seconds(end_ms - start_ms);
}

std::vector<BudgetPart> SplitOverPeriods(const policy::Spec& spec, double rate, int64_t start_ms,
                                         int64_t end_ms) {
  std::vector<BudgetPart> parts;
  if (end_ms <= start_ms || rate <= 0) return parts;
  int64_t t = start_ms;
  // A lease longer than a thousand periods is not a lease; the cap keeps a corrupt time from
  // looping for ever.
  for (int i = 0; t < end_ms && i < 1000; ++i) {
    policy::PeriodBounds p =
        policy::BudgetPeriodAt(spec.budget_period, spec.budget_period_start, Seconds(t));
    int64_t p_start = Millis(p.start), p_end = Millis(p.end);
    if (p_end <= t) p_end = end_ms;  // degenerate period: put the rest here
    int64_t seg_end = std::min(end_ms, p_end);
    parts.push_back(BudgetPart{p_start, ChargeUnits(rate, t, seg_end)});
    t = seg_end;
  }
  return parts;
}

TenantUsage AddCharge(const policy::Spec& spec, TenantUsage usage, double rate, int64_t start_ms,
                      int64_t end_ms) {
  policy::DecayedUsage d{usage.decayed, Seconds(usage.as_of_ms)};
  if (end_ms > start_ms) d.Charge(rate, Seconds(start_ms), Seconds(end_ms), spec.half_life_s);
  usage.decayed = d.value;
  usage.as_of_ms = std::max(usage.as_of_ms, Millis(d.as_of));
  usage.total_units += ChargeUnits(rate, start_ms, end_ms);
  return usage;
}

double RunningDecayedUsage(const policy::Spec& spec, double rate, int64_t start_ms, int64_t now_ms) {
  if (now_ms <= start_ms) return 0;
  policy::DecayedUsage d{0, Seconds(start_ms)};
  d.Charge(rate, Seconds(start_ms), Seconds(now_ms), spec.half_life_s);
  return d.value;
}

}  // namespace egret::quotad
