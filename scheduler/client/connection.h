// One blocking connection to egret-quotad, speaking frames of JSON (scheduler/protocol).
// Client (quotad_client.h) is built on it; egretctl, the tests and the benchmark use it for
// ops outside Client's fixed surface (acquire, heartbeat, reload).
//
// ADDRESS is a Unix socket path, or "tcp://HOST:PORT" for a daemon on another node: each
// request then travels inside a MUNGE credential (libmunge is loaded at run time, so the
// library has no link-time dependency beyond libc and libstdc++).
// No threads, no global state, no exceptions: everything is a value.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::quotad {

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& address,
                                                  double timeout_s = 5.0);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends REQUEST and returns the daemon's reply object, ok or not. Errors are transport
  // failures (timeout, daemon gone, malformed reply) and name the address.
  Result<nlohmann::json> Call(const nlohmann::json& request);
  // Like Call, but a reply with "ok": false becomes an error carrying the daemon's message.
  Result<nlohmann::json> CallOk(const nlohmann::json& request);

  // Sends all REQUESTS at once (pipelined) and returns their replies in order: one write and as
  // few reads as the replies need, for callers with many independent requests.
  Result<std::vector<nlohmann::json>> CallPipelined(const std::vector<nlohmann::json>& requests);

  // Sends BYTES as they are and reads one reply: for tests of malformed input.
  Result<nlohmann::json> CallRaw(const std::string& bytes);

  const std::string& address() const { return address_; }

 private:
  struct Munge;
  Connection(int fd, std::string address, double timeout_s, std::unique_ptr<Munge> munge);
  Result<nlohmann::json> Exchange(const std::string& frame);
  Result<std::string> Encode(const nlohmann::json& request);
  Result<nlohmann::json> ReadReply(double deadline);
  Status WriteAll(const std::string& data, double deadline);
  Status ReadExact(char* buf, size_t n, double deadline);

  int fd_;
  std::string address_;
  double timeout_s_;
  std::unique_ptr<Munge> munge_;
};

}  // namespace egret::quotad
