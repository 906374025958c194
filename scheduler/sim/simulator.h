// Replays a trace through the policy (policy::Schedule) with a simulated clock: the scheduler
// is asked for decisions at every arrival and every job end, exactly as the daemon asks at every
// acquire and release. Preempted jobs checkpoint on the signal: they hold their GPUs for the
// grace period without progress, then requeue with the work not yet done.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "scheduler/policy/types.h"
#include "scheduler/sim/trace.h"

namespace egret::sim {

struct SimOptions {
  policy::Options policy;
  double preempt_grace_s = 60;  // signal -> checkpoint written -> GPUs free; all of it lost work
  int partition = 0;            // the spec's partition every job runs on
};

struct JobRecord {
  uint64_t id = 0;
  int tenant = 0;
  int gpus = 0;
  double submit = 0, runtime = 0, time_limit = 0;
  double first_start = -1;  // -1: never started
  double end = -1;          // completion; -1: never completed
  bool denied = false;
  int preemptions = 0;
  // Time spent waiting while it was its tenant's oldest waiting job and fitted the tenant's
  // unused nominal quota (held + gpus <= nominal).
  double fit_wait_s = 0;
};

// The run as piecewise-constant segments [t0, t1) between events.
struct Timeline {
  int tenants = 0;
  std::vector<double> t0, t1;
  std::vector<float> held;         // [segment * tenants + i]: GPUs tenant i holds
  std::vector<uint8_t> backlogged; // [segment * tenants + i]: tenant i has a waiting job
  std::vector<uint8_t> any_waiting;
  size_t size() const { return t0.size(); }
};

struct SimResult {
  std::vector<JobRecord> jobs;  // in trace order
  Timeline timeline;
  int preemptions = 0;
  double lost_gpu_s = 0;        // preemptions x GPUs x grace
  int64_t schedule_calls = 0;
  int64_t decisions = 0;        // pending jobs looked at, summed over calls
};

// Every trace tenant must be a tenant of SPEC (its index is looked up by name).
Result<SimResult> Simulate(const policy::Spec& spec, const Trace& trace, const SimOptions& options);

}  // namespace egret::sim
