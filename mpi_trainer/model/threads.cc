#include "mpi_trainer/model/threads.h"

#include <cblas.h>
#include <omp.h>
#include <sched.h>

namespace egret::trainer {

namespace {
int g_threads = 0;
}

int CoreCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return omp_get_num_procs();
}

void SetNumThreads(int n) {
  g_threads = n > 0 ? n : CoreCount();
  omp_set_num_threads(g_threads);
  openblas_set_num_threads(1);
}

int NumThreads() {
  if (g_threads == 0) SetNumThreads(0);
  return g_threads;
}

}  // namespace egret::trainer
