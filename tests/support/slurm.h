// Helpers for tests that drive the real local cluster with Slurm's own commands,
// as unprivileged users (runuser), the way a tenant would.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"

namespace egret::testing {

std::string SourceDir();
std::string BuildDir();
// The cluster state dir (EGRET_CLUSTER_DIR, default /var/lib/egret-cluster).
std::string ClusterDir();

// A fresh directory for one test's job scripts and outputs, writable by every user.
std::string MakeJobDir(const std::string& name);

// Runs argv as USER (root runs it directly when user is "root").
ProcessResult RunAs(const std::string& user, const std::vector<std::string>& argv,
                    ProcessOptions options = {});

struct Submission {
  int exit_code = -1;
  std::string out, err;
  long job_id = -1;  // parsed from "Submitted batch job N" (--parsable not assumed)
};

// `sbatch ARGS` as USER with SCRIPT on stdin.
Submission SbatchAs(const std::string& user, const std::vector<std::string>& args,
                    const std::string& script);

struct JobInfo {
  std::string state;   // JobState, e.g. COMPLETED, FAILED, PENDING
  std::string reason;  // Reason
  int exit_code = -1;  // from ExitCode=X:Y
  int exit_signal = 0;
  std::map<std::string, std::string> fields;  // every Key=Value of `scontrol show job -o`
};

std::optional<JobInfo> GetJob(long job_id);
// `sbatch ARGS` as USER through a client config that loads no SPANK plugin, so the job reaches
// slurmctld without the plugin's submit-time check (any user can point SLURM_CONF at their own
// copy). For tests of what slurmctld, job_submit.lua and egret-quotad do on their own.
Submission SbatchWithoutSpankAs(const std::string& user, const std::vector<std::string>& args,
                                const std::string& script);

// Polls until the job reaches a terminal state (or TIMEOUT_S passes; then state is what it was).
JobInfo WaitForJob(long job_id, double timeout_s = 60);
// Polls until PRED holds for the job's info.
bool WaitUntil(long job_id, bool (*pred)(const JobInfo&), double timeout_s);
// Polls PRED every 200 ms until it holds or TIMEOUT_S passes; its last answer.
bool Eventually(const std::function<bool()>& pred, double timeout_s);

std::string ReadText(const std::string& path);

}  // namespace egret::testing
