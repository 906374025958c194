// Kueue's quota model per partition: a tenant may always use its nominal quota; beyond it, it
// may borrow what other tenants of its cohort leave unused, up to its borrowing_limit, and a
// lender lends at most lending_limit of its unused nominal quota.
//
//   used_t      GPUs the tenant's running jobs hold on the partition
//   borrowed_t  = max(0, used_t - nominal_t)
//   lendable_t  = min(lending_limit_t, max(0, nominal_t - used_t))
//   a cohort can hold sum(borrowed) <= sum(lendable) over its members, on each partition
#pragma once

#include <string>
#include <vector>

#include "scheduler/policy/types.h"

namespace egret::policy {

// GPUs in use per tenant and partition, and per partition in total: the ledger that admission
// checks read and update as a pass admits jobs.
// A job being preempted (RunningJob::preempting) still holds its GPUs but no longer counts
// against its tenant's quota: it is leaving, and its GPUs are promised to whoever reclaimed them.
class Usage {
 public:
  Usage(const Spec& spec, const std::vector<RunningJob>& running);
  explicit Usage(const Spec& spec);  // nothing in use

  // GPUS may be negative (a job ending).
  void Add(int tenant, int partition, double gpus);
  // GPUs held on PARTITION that count against no tenant (jobs being preempted).
  void Hold(int partition, double gpus) { part_used_[partition] += gpus; }
  double Used(int tenant, int partition) const { return used_[tenant * parts_ + partition]; }
  double PartitionUsed(int partition) const { return part_used_[partition]; }

  double Borrowed(int tenant, int partition) const;
  double Lendable(int tenant, int partition) const;
  // Sum over the cohort's members of borrowed / lendable on PARTITION.
  double CohortBorrowed(int cohort, int partition) const;
  double CohortLendable(int cohort, int partition) const;

 private:
  const Spec* spec_;
  int parts_;
  std::vector<double> used_;
  std::vector<double> part_used_;
  // Per cohort and partition, kept up to date by Add so a fit check is O(1).
  std::vector<double> cohort_borrowed_;
  std::vector<double> cohort_lendable_;
};

enum class Fit {
  kNominal,         // within the tenant's unused nominal quota and the partition has room
  kBorrow,          // beyond nominal, covered by idle quota lent in the cohort
  kNoRoom,          // within nominal (or borrowable) but the partition's GPUs are held
  kOverQuota,       // beyond nominal and the cohort cannot lend enough now
  kNever,           // can never fit as asked (bigger than capacity or than any limit allows)
};

// How a job of GPUS on PARTITION for TENANT would fit now. With options.quotas off only
// physical capacity counts; with options.borrowing off nothing beyond nominal fits.
Fit CheckFit(const Spec& spec, const Usage& usage, int tenant, int partition, int gpus,
             const Options& options);
// The most GPUs TENANT could ever hold on PARTITION: nominal + min(borrowing_limit, what the
// rest of its cohort may lend), capped by capacity.
double MaxAttainable(const Spec& spec, int tenant, int partition, const Options& options);

// A person-readable account of why the job does not fit, e.g.
// "acme: 8/8 GPUs in use on gpu, cohort has 0 idle to lend".
std::string DescribeNoFit(const Spec& spec, const Usage& usage, int tenant, int partition,
                          int gpus, Fit fit, const Options& options);

}  // namespace egret::policy
