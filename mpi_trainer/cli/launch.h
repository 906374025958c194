// How the job subcommands (finetune, eval, export) start: over MPI when a launcher (mpirun,
// srun --mpi=pmix) started them, alone otherwise; and how they report errors once.
#pragma once

#include <memory>
#include <string>

#include "mpi_trainer/dist/comm.h"

namespace egret::trainer::cli {

std::unique_ptr<Communicator> MakeJobCommunicator();
// Prints "egret-train CMD: MESSAGE" (with "rank R: " on multi-rank runs); messages rank 0
// already reported for everyone are not repeated by the others.
void ReportError(const std::string& cmd, const Communicator& comm, const std::string& message);

}  // namespace egret::trainer::cli
