#include "mpi_trainer/cli/launch.h"

#include <cstdio>
#include <cstdlib>

#include "mpi_trainer/train/trainer.h"

namespace egret::trainer::cli {

std::unique_ptr<Communicator> MakeJobCommunicator() {
  // Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; srun --mpi=pmix sets PMIX_RANK.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return MakeMpiCommunicator();
  return MakeLocalCommunicator();
}

void ReportError(const std::string& cmd, const Communicator& comm, const std::string& message) {
  if (message == train::kReportedByRankZero) return;
  if (comm.size() > 1)
    std::fprintf(stderr, "egret-train %s: rank %d: %s\n", cmd.c_str(), comm.rank(), message.c_str());
  else
    std::fprintf(stderr, "egret-train %s: %s\n", cmd.c_str(), message.c_str());
}

}  // namespace egret::trainer::cli
