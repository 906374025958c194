// Who a job is, from slurmctld (one slurm_load_job RPC through the host's libslurm): tenant
// (account), partition, user, GPU count, start and end time. The job's environment is the
// job's own and is never consulted for any of these.
#pragma once

#include <cstdint>

#include "common/result.h"
#include "plugins/admission.h"

namespace egret::plugin {

Result<JobFacts> LoadJobFacts(uint32_t job_id);

}  // namespace egret::plugin
