// The user-facing options, registered in slurm_spank_init so that `sbatch --help` and
// `srun --help` list them:
//   --tenant=NAME   run as tenant NAME; it must equal the job's account (-A), and supplies
//                   the account when none is given.
// There are deliberately no knobs that weaken isolation: those are the admin's
// (plugstack.conf arguments), never the job's.
#pragma once

#include "plugins/spank_api.h"

namespace egret::plugin {

// Registers the options; an error only matters where users type them (sbatch/srun/salloc).
int RegisterOptions(spank_t sp);

}  // namespace egret::plugin
