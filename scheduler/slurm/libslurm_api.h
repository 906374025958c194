// SlurmApi over libslurm (Slurm 22.05): slurm_load_jobs, slurm_update_job, slurm_kill_job,
// slurm_requeue. slurm_init/slurm_fini are called once per process by the first/last instance.
#pragma once

#include <memory>

#include "scheduler/slurm/slurm_api.h"

namespace egret::quotad {

std::unique_ptr<SlurmApi> MakeLibSlurmApi();

}  // namespace egret::quotad
