// egret-quotad: the fairshare quota daemon. See scheduler/daemon/daemon.h.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "scheduler/daemon/daemon.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  egret::quotad::DaemonOptions o;
  po::options_description desc(
      "egret-quotad: GPU quotas, fairshare and admission for Slurm tenants\n\n"
      "Usage: egret-quotad --config tenants.toml [options]\n\n"
      "Settings not given here come from the [daemon] table of tenants.toml.\n"
      "SIGHUP reloads tenants.toml (an invalid file keeps the old config); SIGTERM stops.\n\n"
      "Options");
  desc.add_options()
      ("help,h", "print this help")
      ("config", po::value(&o.config_path)->required(), "tenants.toml")
      ("state-dir", po::value(&o.state_dir), "ledger, lock, audit log (default from config)")
      ("socket", po::value(&o.socket), "Unix socket path (default from config)")
      ("metrics", po::value(&o.metrics), "Prometheus metrics at HOST:PORT, or 'off'")
      ("tcp", po::value(&o.tcp), "also listen on HOST:PORT for MUNGE-authenticated requests, or 'off'")
      ("audit-log", po::value(&o.audit_log), "JSON-lines audit log (default STATE_DIR/audit.jsonl), or 'off'")
      ("slurm-user", po::value(&o.slurm_user)->default_value("slurm"), "SlurmUser: may take leases like root")
      ("foreground", po::bool_switch(&o.foreground), "do not daemonize; log to stderr")
      ("pid-file", po::value(&o.pid_file), "write the daemon's pid here")
      ("log-file", po::value(&o.log_file), "log here when daemonized (default STATE_DIR/quotad.log)")
      ("no-slurm", "do not talk to slurmctld (leases only through the socket)")
      ("io-threads", po::value(&o.io_threads)->default_value(1), "socket I/O threads")
      ("request-timeout", po::value(&o.request_timeout_s)->default_value(5),
       "seconds a client has to send a whole request once it started")
      ("idle-timeout", po::value(&o.idle_timeout_s)->default_value(600), "seconds before an idle connection is closed")
      ("max-connections-per-user", po::value(&o.max_connections_per_uid)->default_value(64),
       "open connections allowed per non-root uid")
      ("lease-timeout", po::value(&o.lease_timeout_s), "seconds without heartbeat before a lease expires (0: never)")
      ("poll-interval", po::value(&o.poll_interval_s), "seconds between reads of the Slurm queue")
      ("preempt-grace", po::value(&o.preempt_grace_s), "seconds between the preemption signal and the requeue")
      ("preempt-signal", po::value(&o.preempt_signal)->default_value("USR1"),
       "signal sent to a job being preempted, so it can checkpoint")
      ("managed-partitions-file", po::value(&o.managed_partitions_file),
       "rewrite this file (read by job_submit.lua) with tenants.toml's managed partitions at start "
       "and on every reload, e.g. /etc/slurm/egret-managed-partitions");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "egret-quotad: %s (see --help)\n", e.what());
    return 2;
  }
  o.slurm = vm.count("no-slurm") == 0;
  return egret::quotad::RunDaemon(o);
}
