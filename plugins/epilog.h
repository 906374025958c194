// Job end, on every node of the job (slurm_spank_job_epilog, run by slurmd as root through
// `slurmstepd spank epilog`). slurmd runs it however the job ended — normal exit, scancel,
// time limit, node failure, even after its slurmstepd was killed with SIGKILL — so it is
// where the job's private directories go and its lease is released (ReleaseLease is
// idempotent; every node of a multi-node job calls it). When it cannot (quotad down, node
// rebooted), quotad's reconciliation with slurmctld closes the lease at the job's real end.
#pragma once

#include "plugins/spank_api.h"

namespace egret::plugin {

// Always 0: a failing epilog drains the node; problems go to slurmd's log.
int JobEpilog(spank_t sp);

}  // namespace egret::plugin
