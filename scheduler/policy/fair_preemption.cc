#include "scheduler/policy/fair_preemption.h"

#include "scheduler/policy/fairshare.h"

namespace egret::policy {

std::vector<int> PickFairShareVictims(const Spec& spec, const Usage& usage,
                                      const std::vector<RunningJob>& running, int tenant,
                                      int partition, int gpus, double leaving_gpus,
                                      const Options& options, Time now) {
  const int cohort = spec.tenants[tenant].cohort;
  if (cohort == kNoCohort || !options.quotas || !options.borrowing) return {};
  const std::vector<double> shares = NormalisedShares(spec);
  Usage after = usage;
  after.Hold(partition, -leaving_gpus);
  auto fits = [&]() {
    Fit f = CheckFit(spec, after, tenant, partition, gpus, options);
    return f == Fit::kNominal || f == Fit::kBorrow;
  };
  if (fits()) return {};  // nothing to preempt; the caller admits or claims it
  const double mine = (after.Used(tenant, partition) + gpus) / shares[tenant];
  std::vector<double> initial(spec.tenants.size());
  for (size_t t = 0; t < initial.size(); ++t)
    initial[t] = after.Used(static_cast<int>(t), partition) / shares[t];
  std::vector<int> picked;
  std::vector<char> taken(running.size(), 0);
  while (!fits()) {
    int best = -1;
    double best_share = 0;
    for (size_t i = 0; i < running.size(); ++i) {
      const RunningJob& j = running[i];
      if (taken[i] || j.preempting || j.partition != partition || j.tenant == tenant ||
          spec.tenants[j.tenant].cohort != cohort || after.Borrowed(j.tenant, partition) <= 0)
        continue;
      if (j.time_limit_s > 0 && j.start + j.time_limit_s - now < options.fair_preemption_min_left_s)
        continue;
      const double theirs = after.Used(j.tenant, partition) / shares[j.tenant];
      // LessThanOrEqualToFinalShare, else LessThanInitialShare (Kueue tries both, in order).
      const bool final_ok = (after.Used(j.tenant, partition) - j.gpus) / shares[j.tenant] >= mine;
      const bool initial_ok = options.fair_preemption_initial_share &&
                              initial[j.tenant] > mine * (1 + options.fair_preemption_margin);
      if (!final_ok && !initial_ok) continue;
      const RunningJob* b = best >= 0 ? &running[best] : nullptr;
      if (!b || theirs > best_share ||
          (theirs == best_share && (j.start > b->start || (j.start == b->start && j.id > b->id)))) {
        best = static_cast<int>(i);
        best_share = theirs;
      }
    }
    if (best < 0) return {};
    taken[best] = 1;
    picked.push_back(best);
    after.Add(running[best].tenant, partition, -running[best].gpus);
  }
  // Spare earlier picks that later ones made unnecessary (last-but-one first).
  for (int k = static_cast<int>(picked.size()) - 2; k >= 0; --k) {
    const RunningJob& j = running[picked[k]];
    after.Add(j.tenant, partition, j.gpus);
    if (fits())
      picked.erase(picked.begin() + k);
    else
      after.Add(j.tenant, partition, -j.gpus);
  }
  return picked;
}

}  // namespace egret::policy
