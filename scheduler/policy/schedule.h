// The one entry point the daemon and the simulator call: given everything running and pending,
// which pending jobs start now (granted within nominal quota, or borrowed), which borrowed jobs
// to preempt so a lender gets its quota back, and why every other job waits.
//
// Order: across tenants by fairshare factor (higher first), then submit time, then job id;
// within a tenant that is FIFO. A pass has two phases:
//  1. Guarantees: in that order, each tenant's jobs that fit its unused nominal quota start if
//     the partition has the GPUs, or reclaim them by preempting jobs borrowed from the cohort
//     (youngest first, as few as needed). A tenant's first job that does not fit its nominal
//     quota ends this phase for that tenant (its later jobs go to phase 2, so FIFO holds).
//  2. Borrowing and backfill: the remaining jobs, in order, start when they fit (borrowing idle
//     quota lent in the cohort within both limits) and do not delay the reservation. The first
//     job on a partition that cannot start gets a reservation: the earliest time, from running
//     jobs' time limits, at which it could start; later jobs may start now only if they end
//     before it or leave it admissible then (Slurm's backfill).
// See scheduler/policy/README.md for the formulas and worked examples.
#pragma once

#include "scheduler/policy/types.h"

namespace egret::policy {

Decisions Schedule(const Spec& spec, const State& state, Time now, const Options& options = {});

// The same decision for one job alone, as if it were the only one pending (egretctl why,
// CheckSubmit): the waiting reason or the admission it would get right now.
struct SingleDecision {
  Outcome outcome = Outcome::kQueued;
  std::string reason;  // for kQueued/kDenied; "granted"/"borrowed ..." otherwise
};
SingleDecision Decide(const Spec& spec, const State& state, const PendingJob& job, Time now,
                      const Options& options = {});

// The priority order Schedule uses, as indices into state.pending.
std::vector<int> PriorityOrder(const Spec& spec, const State& state, const Options& options);

}  // namespace egret::policy
