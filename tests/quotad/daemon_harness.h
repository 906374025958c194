// Runs the real egret-quotad binary (without Slurm) in a private directory for a test: its
// own tenants.toml, state dir and socket, readable by every user so tests can connect as
// unprivileged uids.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "scheduler/client/connection.h"

namespace egret::quotad::testing {

class Daemon {
 public:
  // NAME: a short directory name; CONFIG: tenants.toml text; EXTRA: more flags.
  Daemon(const std::string& name, const std::string& config, std::vector<std::string> extra = {});
  ~Daemon();

  Status Start();      // waits until the socket answers ping
  void Kill();         // SIGKILL, and reaps it
  Status Stop();       // SIGTERM, waits
  bool Alive() const;

  const std::string& dir() const { return dir_; }
  const std::string& socket() const { return socket_; }
  std::string state_dir() const { return dir_ + "/state"; }
  std::string log() const;
  pid_t pid() const { return pid_; }

  Result<std::unique_ptr<Connection>> Connect(double timeout_s = 5) const;
  // One request on a fresh connection, as root.
  Result<nlohmann::json> Call(const nlohmann::json& request) const;

 private:
  std::string dir_, socket_, config_path_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

// Runs FN in a child process with the uid and gid of USER (fork + setuid) and returns what it
// printed; the tests' way of being alice or nobody without a shell.
std::string AsUser(const std::string& user, const std::function<std::string()>& fn);

std::string QuotadBinary();

}  // namespace egret::quotad::testing
