// GPU-hour budgets per tenant and period. A period is a calendar day, week or month (UTC)
// counted from the configured start. Budgets follow Slurm's "safe" limit enforcement: a job
// starts only if its whole time limit could be paid for, so no job is killed mid-run for
// budget and a budget is never overrun by more than jobs outliving their limits.
#pragma once

#include <string>

#include "scheduler/policy/types.h"

namespace egret::policy {

struct PeriodBounds {
  Time start = 0;
  Time end = 0;
};
// The period containing NOW (UTC). Monthly periods start on the start's day of month and time
// of day; a day past a month's end is clamped to its last day.
PeriodBounds BudgetPeriodAt(Period period, Time period_start, Time now);

enum class BudgetVerdict {
  kOk,        // the job's worst case fits what is left
  kWait,      // fits the budget but not what running jobs have committed; starts when they end
  kDenied,    // can never fit this period: budget spent, too big, or no time limit
};

struct BudgetCheck {
  BudgetVerdict verdict = BudgetVerdict::kOk;
  std::string reason;  // empty when kOk
};

// Budget check at NOW for a job of GPUS GPUs on PARTITION with TIME_LIMIT_S (0 = none) for
// TENANT, given normalised GPU-seconds USED_GPU_S charged this period and COMMITTED_GPU_S that
// its running jobs may still use (what is left of their time limits).
BudgetCheck CheckBudget(const Spec& spec, int tenant, int partition, int gpus,
                        double time_limit_s, double used_gpu_s, double committed_gpu_s, Time now);

// What a running job may still charge: gpus * weight * the rest of its time limit (0 without one).
double CommittedGpuSeconds(const Spec& spec, const RunningJob& job, Time now);

}  // namespace egret::policy
