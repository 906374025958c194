// Slurm's own commands, for what must go through them: sbatch (so egret.so's submit-time
// checks and job_submit.lua run exactly as for any user), scancel and scontrol requeue.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace egret::jobspec::slurm {

struct SbatchRequest {
  std::vector<std::string> options;      // before the script
  std::string script_text;               // sent on stdin when script_path is empty
  std::string script_path;
  std::vector<std::string> script_args;  // after script_path ($1, $2, ... in the job)
  // Submitting from inside a job: start sbatch with only PATH, HOME, USER, LOGNAME, LANG,
  // LC_*, TZ, SLURM_CONF and EGRET_* from our environment, so the job's own SLURM_*
  // variables do not leak into the new job (sbatch exports its environment).
  bool clean_environment = false;
};

// Returns the job id. The error carries sbatch's own message (e.g. the plugin's refusal).
Result<uint32_t> Sbatch(const SbatchRequest& request);

Status Scancel(const std::vector<uint32_t>& ids);

// Whether sbatch knows egret.so's --tenant option (the plugin is in plugstack.conf).
bool SbatchHasTenantOption();

}  // namespace egret::jobspec::slurm
