// Launched inside a job (srun --mpi=pmix or mpirun): every rank contributes rank+1 to a
// 1 MiB allreduce and prints what it got and where it ran, for the multi-node test.
#include <cstdio>
#include <vector>

#include "mpi_trainer/dist/comm.h"

int main() {
  auto comm = egret::trainer::MakeMpiCommunicator();
  std::vector<float> v(1 << 18, static_cast<float>(comm->rank() + 1));
  comm->AllReduceSum(v.data(), v.size());
  bool uniform = true;
  for (float x : v) uniform = uniform && x == v[0];
  std::printf("probe %s sum=%g uniform=%d\n", comm->Describe().c_str(), v[0], uniform ? 1 : 0);
  return uniform ? 0 : 1;
}
