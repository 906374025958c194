// egret-quotad as a whole: loads tenants.toml, locks and opens the state dir's ledger,
// listens, runs the queue manager, serves metrics, and handles signals (SIGHUP reloads the
// config, keeping the old one when the new file is invalid; SIGTERM/SIGINT stop cleanly).
#pragma once

#include <string>

#include "common/result.h"

namespace egret::quotad {

struct DaemonOptions {
  std::string config_path;
  // Empty: take the value from tenants.toml's [daemon] table.
  std::string state_dir;
  std::string socket;
  std::string metrics;    // HOST:PORT; "off" disables
  std::string tcp;        // HOST:PORT; "off" disables
  std::string audit_log;  // default STATE_DIR/audit.jsonl; "off" disables
  std::string slurm_user = "slurm";  // may also take leases (if such a user exists)
  bool foreground = false;
  std::string pid_file;
  std::string log_file;   // when not in the foreground; default STATE_DIR/quotad.log
  bool slurm = true;      // false: no queue manager (leases only via the socket)
  int io_threads = 1;
  double request_timeout_s = 5;  // a request must arrive whole within this of its first byte
  double idle_timeout_s = 600;
  size_t max_connections_per_uid = 64;
  double lease_timeout_s = -1;  // < 0: from the config
  double poll_interval_s = -1;
  double preempt_grace_s = -1;
  std::string preempt_signal = "USR1";  // name (USR1, SIGTERM) or number
  // Where job_submit.lua reads the managed partitions (e.g. /etc/slurm/egret-managed-partitions):
  // rewritten from tenants.toml at start and on every successful reload. Empty: not written.
  std::string managed_partitions_file;
};

// "USR1", "SIGUSR1", "10" -> 10; -1 when unknown.
int ParseSignal(const std::string& name);

// Runs until SIGTERM/SIGINT; returns the process exit code. Fatal start-up errors are printed
// to stderr and give a non-zero code.
int RunDaemon(const DaemonOptions& options);

}  // namespace egret::quotad
