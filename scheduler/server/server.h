// egret-quotad's listener: a Unix stream socket (the caller's uid from SO_PEERCRED) and an
// optional TCP port (each request wrapped in a MUNGE credential). It frames and parses
// requests and hands each to a RequestHandler; it never trusts a uid the client claims.
//
// Defences: a bounded buffer per connection (one frame at most, see frame.h), one request in
// flight per connection (a connection cannot queue work), a deadline for each frame once its
// first byte arrived (slowloris) and for each reply being written (a client that does not
// read), an idle timeout, and caps on connections in total and per non-root uid. Bad headers
// (magic, version, size) get an error reply and the connection is closed, since the stream
// cannot be resynchronised; a bad body gets an error reply and the connection stays usable.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "scheduler/metrics/registry.h"

namespace egret::quotad {

struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;     // 0 over TCP
  bool tcp = false;  // identity from a MUNGE credential rather than SO_PEERCRED
};

class Server;

// Identifies one request awaiting its reply. Send may be called from any thread, once.
class ReplyToken {
 public:
  void Send(std::string body) const;

 private:
  friend class Server;
  Server* server_ = nullptr;
  int worker_ = 0;
  uint64_t conn_id_ = 0;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Runs on an I/O thread; must not block. OP is the request's "op" (already checked to be a
  // string). Reply now or later through TOKEN.
  virtual void Handle(const Peer& peer, const std::string& op, const nlohmann::json& request,
                      ReplyToken token) = 0;
};

struct ServerOptions {
  std::string unix_path;    // required
  std::string tcp_address;  // "HOST:PORT" or empty
  int io_threads = 1;
  double frame_timeout_s = 5;   // a request must arrive whole within this of its first byte
  double write_timeout_s = 10;  // a reply must be taken by the client within this
  double idle_timeout_s = 600;
  size_t max_connections = 4096;
  size_t max_connections_per_uid = 64;  // root is exempt
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                               RequestHandler* handler,
                                               metrics::Registry* metrics);
  ~Server();  // stops the I/O threads and removes the socket file

  int tcp_port() const { return tcp_port_; }

 private:
  struct Worker;
  friend class ReplyToken;
  Server(const ServerOptions& o, RequestHandler* h, metrics::Registry* m);
  void Deliver(int worker, uint64_t conn_id, std::string body);

  ServerOptions options_;
  RequestHandler* handler_;
  metrics::Registry* metrics_;
  int unix_fd_ = -1;
  int tcp_fd_ = -1;
  int tcp_port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> connections_{0};
  std::mutex uid_mu_;
  std::map<uid_t, size_t> uid_counts_;  // open connections per non-root uid
  std::map<std::string, metrics::Histogram*> latency_;  // by op; owned by the registry
};

}  // namespace egret::quotad
