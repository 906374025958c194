// The partitions a jobspec may name, with their sizes, so `egret submit` can refuse a
// wrong partition or an impossible GPU/node count with the choices, before sbatch does
// it with a terse message (or the job pends forever).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec::slurm {

struct PartitionInfo {
  std::string name;
  int nodes = 0;              // nodes in the partition
  int max_gpus_per_node = 0;  // the most GPUs any of its nodes has
  int max_cpus_per_node = 0;
};

struct ClusterInfo {
  std::vector<PartitionInfo> partitions;
};

// From slurmctld (libslurm).
Result<ClusterInfo> LoadClusterInfo();

// Pure: does the spec's [resources] fit the cluster? Errors name the key, the value,
// what the partition has and the valid partitions.
Status CheckResources(const Jobspec& spec, const ClusterInfo& cluster);

// "gpu:4", "gpu:a100:2(S:0-1),tmpfs:100G" -> the GPU count (4, 2).
int GpusInGres(const std::string& gres);

}  // namespace egret::jobspec::slurm
