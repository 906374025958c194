// egretctl: read egret-quotad's state, reload it, and check tenants.toml offline.
//
//   egretctl [--socket PATH] [--json] tenants|shares|usage|queue|leases|budget
//   egretctl why JOBID
//   egretctl reload
//   egretctl check-config FILE [--managed-partitions]
//
// Tables by default, the daemon's JSON with --json. Exit code 0 on success, 1 when the daemon
// refused or failed, 2 on bad usage.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace egret::ctl {

struct CtlOptions {
  std::string socket;
  bool json = false;
  bool managed_partitions = false;
  double timeout_s = 10;
  std::string command;
  std::vector<std::string> args;
};

int RunCtl(const CtlOptions& options, std::ostream& out, std::ostream& err);

}  // namespace egret::ctl
