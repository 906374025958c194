// Node side, in slurmstepd (remote context). The order Slurm calls these, and as whom:
//   init_post_opt           root, once per step     identify the job (slurmctld), check the lease
//   user_init               the job's user, once    ask quotad, as that user, whether they
//                                                   belong to the tenant
//   task_init_privileged    root, in each task      refuse, or build the private view + env
// Refusals happen only in task_init_privileged: a -1 there fails the job and prints our
// message in its output, while a -1 in init_post_opt would drain the node.
#pragma once

#include "plugins/spank_api.h"

namespace egret::plugin {

// Never fail (would drain the node): they record the decision for the task callback.
void StepInitPostOpt(spank_t sp);
void StepUserInit(spank_t sp);

// 0, or -1 with the reason in the job's output.
int StepTaskInitPrivileged(spank_t sp);

}  // namespace egret::plugin
