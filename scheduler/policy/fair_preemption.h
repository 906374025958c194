// Fair-share preemption within a cohort (Kueue's fair sharing with the
// LessThanOrEqualToFinalShare rule): a tenant whose next job needs borrowed GPUs may preempt
// jobs other tenants of its cohort run beyond their nominal quota, as long as afterwards its
// share of the partition (GPUs held / normalised shares) is no larger than each victim's. Victims
// come from the most over-served tenant first, youngest job first, and no more than needed.
// Because the preemptor ends no better off than its victims, nobody can preempt back: no
// ping-pong.
#pragma once

#include <vector>

#include "scheduler/policy/quota.h"
#include "scheduler/policy/types.h"

namespace egret::policy {

// Indices into RUNNING to preempt so a job of GPUS GPUs for TENANT fits on PARTITION; empty
// when no such set exists. USAGE is Usage(spec, running) with this pass's admissions;
// LEAVING_GPUS are GPUs of jobs already preempting that nobody has claimed (they count as free).
std::vector<int> PickFairShareVictims(const Spec& spec, const Usage& usage,
                                      const std::vector<RunningJob>& running, int tenant,
                                      int partition, int gpus, double leaving_gpus,
                                      const Options& options, Time now);

}  // namespace egret::policy
