// Helpers for egret.so's behaviour tests on the local cluster: where the plugin keeps things
// (read from the plugstack line the cluster runs with), tenant data seeded as an admin
// would, and batch jobs whose output is a list of KEY=VALUE facts.
#pragma once

#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/config.h"
#include "tests/support/slurm.h"

namespace egret::testing {

// The plugstack.conf line of the running cluster, parsed as the plugin parses it. Empty
// optional-like: ok() false when egret.so is not loaded.
Result<plugin::Config> RunningPluginConfig();

// Writes, as root, <tenants_root>/<tenant>/data/secret.txt ("<tenant> data"),
// models/model.txt and checkpoints/adapter.safetensors ("<tenant> adapter").
void SeedTenant(const plugin::Config& c, const std::string& tenant);

struct JobRun {
  long job_id = -1;
  std::string submit_err;
  JobInfo info;
  std::string output;
  std::map<std::string, std::string> facts;  // "KEY=VALUE" lines of the output
};

// Submits SCRIPT as USER with ARGS, waits for the end (TIMEOUT_S) and reads its output.
JobRun RunJob(const std::string& user, const std::vector<std::string>& args,
              const std::string& script, double timeout_s = 60,
              const std::vector<std::string>& env = {});

// Submits without waiting; the output goes to OUT_PATH.
Submission Submit(const std::string& user, std::vector<std::string> args, const std::string& script,
                  const std::string& out_path, const std::vector<std::string>& env = {});

// First node of the cluster (jobs that must meet pin themselves there).
std::string FirstNode();

// Entries of DIR whose names start with "<job_id>-" (a job's private directories).
std::vector<std::string> JobDirsOf(const std::string& dir, long job_id);

// egret-quotad, asked as root (an admin): a read-only view ("leases", "why:42", ...).
Result<nlohmann::json> QuotadView(const std::string& view);

// Stops / starts the cluster's egret-quotad (tests/fixtures/quotad); true when it worked.
bool StopQuotad();
bool StartQuotad();

// Seconds since the epoch of a Slurm time field ("2026-11-25T20:42:16", local time).
int64_t SlurmTime(const std::string& field);

// Polls until PRED holds for the job (every 100 ms) or TIMEOUT_S passes.
template <typename Pred>
bool WaitFor(long job_id, Pred pred, double timeout_s) {
  for (int i = 0; i < timeout_s * 10; ++i) {
    auto j = GetJob(job_id);
    if (j && pred(*j)) return true;
    ::usleep(100000);
  }
  return false;
}

// Node states of the cluster ("idle", "mixed", "drained", ...).
std::vector<std::string> NodeStates();

}  // namespace egret::testing
