// The tenants a replayed trace runs against: a tenants.toml, or, without one, every tenant of
// the trace with equal shares and nominal quotas splitting the partition, in one cohort.
#pragma once

#include <string>

#include "common/result.h"
#include "scheduler/policy/types.h"
#include "scheduler/sim/trace.h"

namespace egret::sim {

struct TraceSetup {
  policy::Spec spec;
  int partition = 0;
};

// CONFIG_PATH empty: equal shares on a partition "gpu" of GPUS GPUs. Otherwise the tenants.toml
// and its partition PARTITION (empty: the first managed one); GPUS > 0 overrides its capacity.
// Every tenant of the trace must exist in the result; HALF_LIFE_S >= 0 overrides the config's.
Result<TraceSetup> SetupForTrace(const Trace& trace, const std::string& config_path,
                                 const std::string& partition, int gpus, double half_life_s);

}  // namespace egret::sim
