// The four policies egret-sim compares, all running policy::Schedule with parts switched off:
//   fifo          submit order, no quotas, EASY backfill (one reservation for the first blocked
//                 job; later jobs start only if they do not delay it): Slurm's sched/backfill
//                 with priority by age only
//   static-quota  submit order, each tenant capped at its nominal quota, no borrowing, backfill
//   fairshare     Slurm's classic fairshare order (F = 2^(-U/S)), no quotas, backfill
//   egret         fairshare order + nominal quotas + borrowing in the cohort + reclaim by
//                 preemption (checkpoint on signal) + backfill reservation
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "scheduler/policy/types.h"
#include "scheduler/sim/metrics.h"
#include "scheduler/sim/simulator.h"
#include "scheduler/sim/trace.h"

namespace egret::sim {

struct NamedPolicy {
  std::string name;
  policy::Options options;
};

// The four, in the order above. NAMES filters them (empty = all); an unknown name is an error.
Result<std::vector<NamedPolicy>> ComparedPolicies(const std::vector<std::string>& names = {});

struct PolicyRun {
  Metrics metrics;
  SimResult result;
};

// Runs TRACE under each policy on SPEC's partition PARTITION.
Result<std::vector<PolicyRun>> Compare(const policy::Spec& spec, const Trace& trace,
                                 const std::vector<NamedPolicy>& policies, SimOptions base,
                                 const MetricOptions& metric_options);

}  // namespace egret::sim
