// The plugin's settings, from the arguments of its plugstack.conf line:
//   required /usr/lib/egret/egret.so socket=/run/egret/quotad.sock tenants_root=/srv/egret/tenants
// Parsing is pure so sbatch, srun and slurmstepd agree on it and tests can check every rule.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace egret::plugin {

enum class FailurePolicy {
  kClosed,  // quotad unreachable: refuse the submission / fail the step (default)
  kOpen,    // quotad unreachable: warn and go on without the lease check (isolation still applies)
};

struct Config {
  std::string socket;        // egret-quotad's socket (or tcp://HOST:PORT)
  std::string tenants_root;  // real store <root>/<tenant>/{data,models,checkpoints}; also the
                             // path a job sees, covered so that only its own tenant shows
  std::string job_root;      // per-job private /tmp directories (root 0700)
  std::string shm_root;      // per-job private /dev/shm directories, on a tmpfs such as /run (root 0700)
  std::vector<std::string> unmanaged;  // partitions that need no admission lease
  std::vector<std::string> writable;   // tenant subdirectories a job may write
  std::vector<std::string> keep_env;   // credential-like variables admins let through
  std::string group_prefix;            // tenant T's Unix group is <group_prefix>T
  FailurePolicy failure = FailurePolicy::kClosed;
  bool hidepid = true;       // a private /proc that hides other users' processes
  double timeout_s = 5.0;    // connecting to and waiting for egret-quotad
};

// The subdirectories every tenant has; jobs see them at <tenants_root>/<tenant>/<sub>.
inline const std::vector<std::string>& TenantSubdirs() {
  static const std::vector<std::string> kSubdirs = {"data", "models", "checkpoints"};
  return kSubdirs;
}

// Defaults for every key; ARGS are "key=value" words. Errors name the argument and the fix.
Result<Config> ParseConfig(const std::vector<std::string>& args);

// The plugstack.conf words that reproduce CONFIG (for the admin kit and tests).
std::vector<std::string> ConfigArgs(const Config& config);

}  // namespace egret::plugin
