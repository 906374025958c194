#include "mpi_trainer/train/preempt.h"

#include <csignal>

namespace egret::train {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void OnStopSignal(int sig) { g_stop_signal = sig; }

}  // namespace

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: a signal during file or network I/O must not turn into a failed call.
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
}

int StopSignal() { return g_stop_signal; }

void RequestStop(int sig) { g_stop_signal = sig; }

}  // namespace egret::train
