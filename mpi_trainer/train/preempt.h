// Preemption: SIGTERM (Slurm's time limit, scancel) or SIGUSR1 (sbatch --signal=USR1@T) asks
// the run to stop. The handler only sets a flag; at the next step boundary every rank learns
// (Communicator::AnyTrue) that some rank was signalled, so all stop after the same step,
// write a checkpoint, and exit with kExitPreempted so the job can be requeued and resumed.
#pragma once

namespace egret::train {

// Exit codes of egret-train finetune (documented in train/README.md).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitPreempted = 75;  // EX_TEMPFAIL: checkpointed, resume with --resume auto

// Installs the handlers for SIGTERM and SIGUSR1 (idempotent).
void InstallStopHandlers();
// The signal that asked this process to stop, or 0.
int StopSignal();
// For tests: as if SIG had arrived.
void RequestStop(int sig);

}  // namespace egret::train
