// Submit side: sbatch and salloc (allocator context) and srun (local context), running as
// the submitting user. Refuses early, on the user's terminal, what egret-quotad would refuse
// anyway: an unknown tenant, a user who is not a member, a partition the tenant may not use,
// an exhausted budget, or --tenant contradicting -A. Advisory only: a user can bypass a
// client-side check (another SLURM_CONF, the REST API), so the node checks again.
#pragma once

#include "plugins/spank_api.h"

namespace egret::plugin {

// slurm_spank_init_post_opt in local/allocator context: 0 to go on, -1 to refuse.
int SubmitInitPostOpt(spank_t sp);

}  // namespace egret::plugin
