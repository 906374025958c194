// Job traces egret-sim replays: the Standard Workload Format (SWF) of the Parallel Workloads
// Archive and a simple CSV. See scheduler/sim/README.md for how fields map to GPUs and tenants.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace egret::sim {

struct TraceJob {
  uint64_t id = 0;
  double submit_s = 0;
  double runtime_s = 0;     // the work the job does, if it runs undisturbed
  double time_limit_s = 0;  // what the user asked for (>= runtime_s: a job is killed at its limit)
  int gpus = 0;
  std::string tenant;
};

struct Trace {
  std::vector<TraceJob> jobs;  // sorted by submit time, then id
  int skipped = 0;             // SWF records without run time or processors (cancelled jobs)
};

struct SwfOptions {
  enum class TenantBy { kUser, kGroup };
  TenantBy tenant_by = TenantBy::kUser;  // tenant "u<user id>" or "g<group id>"
  int tenants = 0;       // > 0: fold ids into this many tenants "t0".."t<n-1>" (id mod n)
  int procs_per_gpu = 1; // GPUs = ceil(processors / procs_per_gpu)
};

// `job_id,submit_s,runtime_s,gpus,tenant[,time_limit_s]`; a header line naming those columns,
// blank lines and lines starting with '#' are skipped. Without a time limit it is the run time.
Result<Trace> ParseCsvTrace(std::string_view text, std::string_view display_name);
Result<Trace> ParseSwfTrace(std::string_view text, std::string_view display_name,
                            const SwfOptions& options = {});
// By extension: .swf is SWF, anything else CSV.
Result<Trace> LoadTrace(const std::string& path, const SwfOptions& swf = {});

std::string TraceToCsv(const Trace& trace);

}  // namespace egret::sim
