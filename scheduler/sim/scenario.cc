#include "scheduler/sim/scenario.h"

#include <set>

#include "scheduler/config/config.h"
#include "scheduler/policy/from_config.h"
#include "scheduler/sim/generator.h"

namespace egret::sim {

Result<TraceSetup> SetupForTrace(const Trace& trace, const std::string& config_path,
                                 const std::string& partition, int gpus, double half_life_s) {
  TraceSetup setup;
  std::set<std::string> names;
  for (const TraceJob& j : trace.jobs) names.insert(j.tenant);
  if (config_path.empty()) {
    if (gpus <= 0) return Error("without --config, --gpus must give the partition's GPUs (> 0)");
    std::vector<std::string> tenants(names.begin(), names.end());
    setup.spec = ProportionalSpec(tenants, std::vector<double>(tenants.size(), 1.0), gpus,
                                  half_life_s >= 0 ? half_life_s : 86400);
    return setup;
  }
  EGRET_ASSIGN_OR_RETURN(config::Config cfg, config::LoadConfig(config_path));
  setup.spec = policy::SpecFromConfig(cfg);
  setup.partition = -1;
  for (size_t p = 0; p < setup.spec.partitions.size(); ++p) {
    const auto& ps = setup.spec.partitions[p];
    if (partition.empty() ? ps.managed : ps.name == partition) {
      setup.partition = static_cast<int>(p);
      break;
    }
  }
  if (setup.partition < 0)
    return Error(config_path + ": " +
                 (partition.empty() ? std::string("no managed partition to replay the trace on")
                                    : "no partition \"" + partition + "\""));
  if (gpus > 0) setup.spec.partitions[setup.partition].capacity_gpus = gpus;
  if (half_life_s >= 0) setup.spec.half_life_s = half_life_s;
  for (const std::string& n : names)
    if (setup.spec.TenantIndex(n) < 0)
      return Error(config_path + ": the trace's tenant \"" + n + "\" is not a [[tenant]] there");
  return setup;
}

}  // namespace egret::sim
