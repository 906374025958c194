// Runs a child process and captures its output: used by `egret submit` (sbatch),
// the cluster tests and the benchmarks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace egret {

struct ProcessOptions {
  std::string stdin_data;
  // Extra NAME=VALUE entries added to (or replacing in) the inherited environment.
  std::vector<std::string> env;
  std::optional<double> timeout_s;  // SIGKILL after this long; exit_code is then -1
  std::string cwd;
};

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128+signal if killed by a signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Errors only when the process could not be started at all.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

}  // namespace egret
