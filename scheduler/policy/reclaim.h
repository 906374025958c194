// Reclaim: a lender's job that fits its unused nominal quota lacks GPUs because others borrowed
// them. Pick borrowed jobs to preempt: only jobs of tenants borrowing from the lender's cohort on
// that partition, youngest (latest start) first, and only as many as needed: after reaching
// enough GPUs, earlier picks that are no longer needed are dropped (Kueue's minimal set).
#pragma once

#include <vector>

#include "scheduler/policy/quota.h"
#include "scheduler/policy/types.h"

namespace egret::policy {

// Indices into RUNNING of the jobs to preempt so NEEDED more GPUs free up on PARTITION for a
// job of tenant LENDER; empty when borrowed jobs cannot free enough. USAGE is Usage(spec,
// running): jobs already preempting count against no tenant and are not picked again.
std::vector<int> PickReclaimVictims(const Spec& spec, const Usage& usage,
                                    const std::vector<RunningJob>& running, int lender,
                                    int partition, double needed);

}  // namespace egret::policy
