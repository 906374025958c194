// The job a user is submitting, as sbatch/srun/salloc parsed it (command line, #SBATCH lines
// and SBATCH_*/SLURM_* variables, already merged with Slurm's own precedence). SPANK has no
// item for the account or partition on the submit side, so this reads the command's option
// table through Slurm's own accessor (slurm_option_get, the one cli_filter plugins use),
// found at run time in the host process. It runs as the submitting user, and what it reads
// is that user's own choice: the node side checks everything again from slurmctld.
#pragma once

#include <string>

#include "common/result.h"

namespace egret::plugin {

struct SubmitRequest {
  std::string account;
  std::string partition;  // may be a comma list; empty: the cluster's default partition
  std::string gres, gpus, gpus_per_node, gpus_per_task, nodes, ntasks;
  std::string jobid;  // srun --jobid: a step of an existing job
};

// Errors when the host process does not offer the option table (a Slurm that changed it).
Result<SubmitRequest> ReadSubmitOptions();

// Sets the account the job is submitted with (when it comes from --tenant).
Status SetSubmitAccount(const std::string& account);

// The partition slurmctld picks when none is given (Default=YES), via one RPC.
Result<std::string> DefaultPartition();

// The GPUs the request asks for in total (0 when it asks for none).
int64_t RequestedGpus(const SubmitRequest& r);

}  // namespace egret::plugin
