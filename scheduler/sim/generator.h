// Contested multi-tenant traces, deterministic from a seed: each tenant alternates busy and
// quiet spells (bursty arrivals), job sizes from 1 GPU to a quarter of the partition (so some
// exceed a small tenant's quota), run times from minutes to hours, users' time limits above the
// run time, and the offered load above capacity. See scheduler/sim/README.md.
#pragma once

#include <cstdint>
#include <vector>

#include "scheduler/policy/types.h"
#include "scheduler/sim/trace.h"

namespace egret::sim {

struct GeneratorOptions {
  uint64_t seed = 1;
  int gpus = 64;                                  // partition capacity
  std::vector<double> shares = {0.4, 0.3, 0.2, 0.1};
  // Fraction of the offered load each tenant brings (need not follow the shares: a tenant that
  // asks for less than its share lends, one that asks for more borrows).
  std::vector<double> demand = {0.3, 0.3, 0.25, 0.15};
  double days = 3;             // arrival window
  double load = 1.3;           // offered GPU-seconds / (capacity x window)
  double busy_mean_h = 6;      // mean busy spell; quiet spells have the same mean
  double min_runtime_s = 600, max_runtime_s = 6 * 3600;  // log-uniform
  double half_life_s = 86400;  // the spec's fairshare half-life
};

struct Scenario {
  Trace trace;
  policy::Spec spec;  // one partition "gpu"; tenants t0.. with nominal quotas ~ shares x capacity,
                      // all in one cohort without limits
};

Scenario Generate(const GeneratorOptions& options);

// A spec for TENANTS on one partition of GPUS GPUs: nominal quotas split by SHARES (largest
// remainder, summing to GPUS), one cohort, no borrowing or lending limits.
policy::Spec ProportionalSpec(const std::vector<std::string>& tenants, const std::vector<double>& shares,
                              int gpus, double half_life_s);

}  // namespace egret::sim
