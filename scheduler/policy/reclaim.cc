#include "scheduler/policy/reclaim.h"

#include <algorithm>

namespace egret::policy {

std::vector<int> PickReclaimVictims(const Spec& spec, const Usage& usage,
                                    const std::vector<RunningJob>& running, int lender,
                                    int partition, double needed) {
  const int cohort = spec.tenants[lender].cohort;
  if (cohort == kNoCohort || needed <= 0) return {};
  // What each tenant borrows (jobs already being preempted are not counted in usage).
  std::vector<double> borrowed(spec.tenants.size(), 0.0);
  for (size_t t = 0; t < spec.tenants.size(); ++t)
    if (spec.tenants[t].cohort == cohort) borrowed[t] = usage.Borrowed(static_cast<int>(t), partition);
  std::vector<int> candidates;
  for (size_t i = 0; i < running.size(); ++i) {
    const RunningJob& j = running[i];
    if (j.partition != partition || spec.tenants[j.tenant].cohort != cohort || j.tenant == lender)
      continue;
    if (j.preempting) continue;
    candidates.push_back(static_cast<int>(i));
  }
  std::sort(candidates.begin(), candidates.end(), [&](int a, int b) {
    if (running[a].start != running[b].start) return running[a].start > running[b].start;
    return running[a].id > running[b].id;
  });
  std::vector<int> picked;
  double freed = 0;
  for (int i : candidates) {
    const RunningJob& j = running[i];
    // Only a tenant still above its nominal quota is borrowing; its other jobs are its own.
    if (borrowed[j.tenant] <= 0) continue;
    picked.push_back(i);
    borrowed[j.tenant] -= j.gpus;
    freed += j.gpus;
    if (freed >= needed) break;
  }
  if (freed < needed) return {};
  // Drop earlier picks the later ones made unnecessary, last-but-one first (Kueue's minimal set).
  for (int k = static_cast<int>(picked.size()) - 2; k >= 0; --k) {
    if (freed - running[picked[k]].gpus >= needed) {
      freed -= running[picked[k]].gpus;
      picked.erase(picked.begin() + k);
    }
  }
  return picked;
}

}  // namespace egret::policy
