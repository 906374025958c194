// The simulator's metrics, defined precisely in scheduler/sim/README.md.
#pragma once

#include <string>
#include <vector>

#include "scheduler/policy/types.h"
#include "scheduler/sim/simulator.h"

namespace egret::sim {

struct MetricOptions {
  double window_s = 4 * 3600;          // Jain's index is computed per window of this length
  double min_backlog_fraction = 0.25;  // a tenant counts in a window if backlogged this much of it
  double slowdown_threshold_s = 10;    // bounded slowdown's tau
};

struct TenantMetrics {
  std::string name;
  double share = 0;            // normalised shares
  int jobs = 0, completed = 0, never_completed = 0;
  double wait_p50_s = 0, wait_p95_s = 0, bsld_p95 = 0;
  double backlogged_s = 0;     // time with at least one waiting job
  double entitled = 0;         // mean entitled share while backlogged (fraction of capacity)
  double received = 0;         // mean share held while backlogged
  double shortfall = 0;        // entitled - received
  double gpu_s = 0;            // GPU-seconds held over the run
};

struct Metrics {
  std::string policy;
  int jobs = 0, completed = 0, never_completed = 0, denied = 0;
  double arrival_window_s = 0;
  double utilisation = 0;            // over the arrival window
  double utilisation_contended = 0;  // over the times some job waits
  double jain = 1;                   // mean of per-window Jain indices
  int jain_windows = 0;              // windows with >= 2 tenants counted
  double wait_p50_s = 0, wait_p95_s = 0, bsld_p95 = 0;
  double max_shortfall = 0;          // max over tenants of shortfall (0 if none is short)
  std::string max_shortfall_tenant;
  double max_fit_wait_s = 0;         // longest wait of a job that fitted its tenant's unused quota
  int preemptions = 0;
  double lost_gpu_s = 0;
  double lost_fraction = 0;          // lost_gpu_s / (capacity x arrival window)
  std::vector<TenantMetrics> tenants;
};

// Nearest-rank percentile (the smallest value with at least P% of values <= it); 0 when empty.
double Percentile(std::vector<double> values, double p);
double JainIndex(const std::vector<double>& x);

// Weighted max-min fair ("water-filling") entitlement at one instant: tenants in BACKLOGGED get
// lambda * share_i, the others keep what they hold (they want no more) up to lambda * share_j,
// with lambda chosen so the entitlements fill the capacity. HELD is a fraction of capacity.
std::vector<double> EntitledShares(const std::vector<double>& share, const std::vector<double>& held,
                                   const std::vector<bool>& backlogged);

Metrics ComputeMetrics(const policy::Spec& spec, int partition, const SimResult& result,
                       const MetricOptions& options = {});

}  // namespace egret::sim
