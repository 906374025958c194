// The trainer's CPU threads: one OpenMP team runs every kernel, and BLAS calls run
// single-threaded inside it on partitions of the output, so two thread pools never compete
// for the same cores. Results are deterministic for a fixed thread count.
#pragma once

namespace egret::trainer {

// CPUs this process may run on (its affinity mask, which Slurm's cgroup/affinity sets).
int CoreCount();
// Sets the team size (n <= 0: CoreCount()). Call before running a model.
void SetNumThreads(int n);
int NumThreads();

}  // namespace egret::trainer
