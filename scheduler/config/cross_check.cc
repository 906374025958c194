#include "scheduler/config/cross_check.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/strings.h"

namespace egret::config::internal {
namespace {

std::string Ctx(const Tenant& t) { return "tenant " + Quote(t.name) + ": "; }

void CheckQuotas(const Config& cfg, const Tenant& t, Diagnostics* diag) {
  std::vector<std::string> seen;
  for (const Quota& q : t.quotas) {
    std::string field = "gpu_quota." + q.partition;
    const Partition* p = cfg.FindPartition(q.partition);
    if (!p) {
      std::vector<std::string> managed;
      for (const auto& x : cfg.partitions)
        if (x.managed) managed.push_back(x.name);
      diag->Error(q.where, Ctx(t) + field + ": no partition " + Quote(q.partition) +
                               " (managed partitions: " +
                               (managed.empty() ? "none" : Join(managed, ", ")) + ")");
      continue;
    }
    if (!p->managed) {
      diag->Error(q.where, Ctx(t) + field + ": partition " + Quote(q.partition) +
                               " is not managed, so no quota applies there; remove the quota or "
                               "set managed = true on the partition");
      continue;
    }
    if (!t.Allows(q.partition)) {
      diag->Error(q.where, Ctx(t) + field + " is on a partition the tenant may not use; add " +
                               Quote(q.partition) + " to allowed_partitions or remove the quota");
    }
    if (q.nominal_gpus > p->capacity_gpus) {
      diag->Error(q.where, Ctx(t) + field + ".nominal is " + FormatNumber(q.nominal_gpus) +
                               " GPUs but partition " + Quote(p->name) + " has " +
                               std::to_string(p->capacity_gpus) + "; lower it to at most " +
                               std::to_string(p->capacity_gpus));
    }
    if (std::isfinite(q.lending_limit) && q.lending_limit > q.nominal_gpus) {
      diag->Error(q.where, Ctx(t) + field + ".lending_limit is " + FormatNumber(q.lending_limit) +
                               " but only its nominal " + FormatNumber(q.nominal_gpus) +
                               " GPUs can be lent; lower it to at most " +
                               FormatNumber(q.nominal_gpus) + " or leave it out");
    }
    if (t.cohort.empty() &&
        (std::isfinite(q.borrowing_limit) || std::isfinite(q.lending_limit))) {
      diag->Error(q.where, Ctx(t) + field + " sets borrowing_limit or lending_limit but the tenant "
                               "has no cohort to borrow from or lend to; set cohort or remove them");
    }
    if (std::find(seen.begin(), seen.end(), q.partition) != seen.end())
      diag->Error(q.where, Ctx(t) + field + " is given twice; keep one");
    seen.push_back(q.partition);
  }
}

// A cohort is for lending: one whose members can lend nothing on any partition would make every
// borrow fail, which is always a mistake in the file.
void CheckCohorts(const Config& cfg, Diagnostics* diag) {
  std::map<std::string, std::vector<const Tenant*>> cohorts;
  for (const Tenant& t : cfg.tenants)
    if (!t.cohort.empty()) cohorts[t.cohort].push_back(&t);
  for (const auto& [name, members] : cohorts) {
    const Tenant& first = *members.front();
    if (members.size() == 1) {
      diag->Error(first.where, Ctx(first) + "cohort " + Quote(name) +
                                   " has no other tenant, so nothing can be borrowed or lent in "
                                   "it; add another tenant to it or remove cohort");
      continue;
    }
    double lendable_anywhere = 0;
    for (const Tenant* t : members)
      for (const Quota& q : t->quotas) lendable_anywhere += std::min(q.lending_limit, q.nominal_gpus);
    if (lendable_anywhere == 0) {
      diag->Error(first.where, Ctx(first) + "cohort " + Quote(name) +
                                   " cannot lend anything: no member has a nominal quota with a "
                                   "lending_limit above 0; give one a quota it may lend, or "
                                   "remove the cohort");
      continue;
    }
    // A borrowing limit set on a partition where the others lend nothing can never be used.
    for (const Tenant* t : members) {
      for (const Quota& q : t->quotas) {
        if (!std::isfinite(q.borrowing_limit) || q.borrowing_limit == 0) continue;
        double others = 0;
        for (const Tenant* o : members) {
          if (o == t) continue;
          if (const Quota* oq = o->FindQuota(q.partition))
            others += std::min(oq->lending_limit, oq->nominal_gpus);
        }
        if (others == 0)
          diag->Error(q.where, Ctx(*t) + "gpu_quota." + q.partition + ".borrowing_limit is " +
                                   FormatNumber(q.borrowing_limit) + " but no other tenant of cohort " +
                                   Quote(name) + " lends on " + Quote(q.partition) +
                                   "; set it to 0 or give another member a quota it may lend there");
      }
    }
  }
}

}  // namespace

void CrossCheck(const Config& cfg, Diagnostics* diag) {
  for (const Tenant& t : cfg.tenants) CheckQuotas(cfg, t, diag);
  CheckCohorts(cfg, diag);
  for (const Partition& p : cfg.partitions) {
    if (!p.managed) continue;
    double nominal = 0;
    for (const Tenant& t : cfg.tenants)
      if (const Quota* q = t.FindQuota(p.name)) nominal += q->nominal_gpus;
    if (nominal > p.capacity_gpus)
      diag->Warning(p.where, "partition " + Quote(p.name) + ": nominal quotas add up to " +
                                 FormatNumber(nominal) + " GPUs, more than its " +
                                 std::to_string(p.capacity_gpus) +
                                 "; they cannot all be honoured at once");
  }
  if (cfg.tenants.empty()) diag->Warning({}, "no [[tenant]]: nobody may use managed partitions");
}

}  // namespace egret::config::internal
