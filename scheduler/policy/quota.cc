#include "scheduler/policy/quota.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace egret::policy {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Usage::Usage(const Spec& spec)
    : spec_(&spec),
      parts_(static_cast<int>(spec.partitions.size())),
      used_(spec.tenants.size() * spec.partitions.size(), 0.0),
      part_used_(spec.partitions.size(), 0.0),
      cohort_borrowed_(spec.cohorts.size() * spec.partitions.size(), 0.0),
      cohort_lendable_(spec.cohorts.size() * spec.partitions.size(), 0.0) {
  for (size_t t = 0; t < spec.tenants.size(); ++t) {
    const TenantSpec& ts = spec.tenants[t];
    if (ts.cohort == kNoCohort) continue;
    for (int p = 0; p < parts_; ++p)
      cohort_lendable_[ts.cohort * parts_ + p] += Lendable(static_cast<int>(t), p);
  }
}

Usage::Usage(const Spec& spec, const std::vector<RunningJob>& running) : Usage(spec) {
  for (const RunningJob& j : running) {
    if (j.preempting)
      Hold(j.partition, j.gpus);
    else
      Add(j.tenant, j.partition, j.gpus);
  }
}

void Usage::Add(int tenant, int partition, double gpus) {
  const int cohort = spec_->tenants[tenant].cohort;
  const int k = cohort * parts_ + partition;
  if (cohort != kNoCohort) {
    cohort_borrowed_[k] -= Borrowed(tenant, partition);
    cohort_lendable_[k] -= Lendable(tenant, partition);
  }
  used_[tenant * parts_ + partition] += gpus;
  part_used_[partition] += gpus;
  if (cohort != kNoCohort) {
    cohort_borrowed_[k] += Borrowed(tenant, partition);
    cohort_lendable_[k] += Lendable(tenant, partition);
  }
}

double Usage::Borrowed(int tenant, int partition) const {
  return std::max(0.0, Used(tenant, partition) - spec_->tenants[tenant].quota[partition].nominal);
}

double Usage::Lendable(int tenant, int partition) const {
  const QuotaSpec& q = spec_->tenants[tenant].quota[partition];
  return std::min(q.lending_limit, std::max(0.0, q.nominal - Used(tenant, partition)));
}

double Usage::CohortBorrowed(int cohort, int partition) const {
  return cohort == kNoCohort ? 0 : cohort_borrowed_[cohort * parts_ + partition];
}

double Usage::CohortLendable(int cohort, int partition) const {
  return cohort == kNoCohort ? 0 : cohort_lendable_[cohort * parts_ + partition];
}

double MaxAttainable(const Spec& spec, int tenant, int partition, const Options& options) {
  const double cap = spec.partitions[partition].capacity_gpus;
  if (!options.quotas) return cap;
  const TenantSpec& t = spec.tenants[tenant];
  const QuotaSpec& q = t.quota[partition];
  double borrow = 0;
  if (options.borrowing && t.cohort != kNoCohort) {
    double lent = 0;
    for (size_t o = 0; o < spec.tenants.size(); ++o) {
      if (static_cast<int>(o) == tenant || spec.tenants[o].cohort != t.cohort) continue;
      const QuotaSpec& oq = spec.tenants[o].quota[partition];
      lent += std::min(oq.lending_limit, oq.nominal);
    }
    borrow = std::min(q.borrowing_limit, lent);
  }
  return std::min(cap, q.nominal + borrow);
}

Fit CheckFit(const Spec& spec, const Usage& usage, int tenant, int partition, int gpus,
             const Options& options) {
  const double cap = spec.partitions[partition].capacity_gpus;
  const double free = cap - usage.PartitionUsed(partition);
  if (gpus > cap) return Fit::kNever;
  if (!options.quotas) return gpus <= free ? Fit::kNominal : Fit::kNoRoom;
  const TenantSpec& t = spec.tenants[tenant];
  const QuotaSpec& q = t.quota[partition];
  const double used = usage.Used(tenant, partition);
  if (used + gpus <= q.nominal) return gpus <= free ? Fit::kNominal : Fit::kNoRoom;
  if (gpus > MaxAttainable(spec, tenant, partition, options)) return Fit::kNever;
  if (!options.borrowing || t.cohort == kNoCohort) return Fit::kOverQuota;
  const double borrowed_after = used + gpus - q.nominal;
  if (borrowed_after > q.borrowing_limit) return Fit::kOverQuota;
  // After admission the tenant lends nothing and borrows borrowed_after.
  const double cohort_borrowed =
      usage.CohortBorrowed(t.cohort, partition) - usage.Borrowed(tenant, partition) + borrowed_after;
  const double cohort_lendable =
      usage.CohortLendable(t.cohort, partition) - usage.Lendable(tenant, partition);
  if (cohort_borrowed > cohort_lendable + 1e-9) return Fit::kOverQuota;
  return gpus <= free ? Fit::kBorrow : Fit::kNoRoom;
}

std::string DescribeNoFit(const Spec& spec, const Usage& usage, int tenant, int partition,
                          int gpus, Fit fit, const Options& options) {
  const TenantSpec& t = spec.tenants[tenant];
  const PartitionSpec& p = spec.partitions[partition];
  const QuotaSpec& q = t.quota[partition];
  const double used = usage.Used(tenant, partition);
  const std::string full = "partition " + p.name + " is full (" +
                           Num(usage.PartitionUsed(partition)) + "/" +
                           std::to_string(p.capacity_gpus) + " GPUs in use)";
  const std::string in_use = t.name + ": " + Num(used) + "/" + Num(q.nominal) + " GPUs in use on " + p.name;
  switch (fit) {
    case Fit::kNominal:
    case Fit::kBorrow:
      return t.name + ": fits now";
    case Fit::kNever:
      if (gpus > p.capacity_gpus)
        return t.name + ": job asks " + std::to_string(gpus) + " GPUs but partition " + p.name +
               " has " + std::to_string(p.capacity_gpus) + "; ask for at most " +
               std::to_string(p.capacity_gpus);
      return t.name + ": job asks " + std::to_string(gpus) + " GPUs but " + t.name +
             " can hold at most " + Num(MaxAttainable(spec, tenant, partition, options)) + " on " +
             p.name + " (nominal " + Num(q.nominal) + " + what its cohort may lend, within its "
             "borrowing_limit); ask for fewer GPUs or an admin for a larger quota";
    case Fit::kNoRoom:
      if (!options.quotas) return t.name + ": " + full;
      if (used + gpus <= q.nominal) return in_use + ", within its quota, but " + full;
      return in_use + ", the cohort lends enough but " + full;
    case Fit::kOverQuota:
      break;
  }
  if (!options.borrowing) return in_use + ", its quota is reached";
  if (t.cohort == kNoCohort) return in_use + ", no cohort to borrow from";
  if (used + gpus - q.nominal > q.borrowing_limit)
    return in_use + ", borrowing " + Num(used + gpus - q.nominal) + " would exceed its borrowing_limit " +
           Num(q.borrowing_limit);
  // What the others lend, less what is already borrowed from the pool (this tenant's own
  // borrowing included).
  const double idle = std::max(0.0, usage.CohortLendable(t.cohort, partition) -
                                        usage.Lendable(tenant, partition) -
                                        usage.CohortBorrowed(t.cohort, partition));
  return in_use + ", cohort has " + Num(idle) + " idle to lend";
}

}  // namespace egret::policy
