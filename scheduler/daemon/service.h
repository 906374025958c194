// The request handler behind the socket: who may do what, and each op's work.
//
//   ping, check_submit        anyone (check_submit is about the caller itself)
//   acquire, release,         root, the SlurmUser, or an egret admin
//   heartbeat, get_lease
//   query                     users: rows of their own tenants only; admins and root: all
//   reload                    root or an egret admin
//
// The caller's uid is the Peer's: SO_PEERCRED on the Unix socket, the MUNGE credential over
// TCP. Nothing a request says about identity is read.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <chrono>

#include "scheduler/auth/identity.h"
#include "scheduler/daemon/engine.h"
#include "scheduler/server/server.h"

namespace egret::quotad {

struct ServiceOptions {
  std::vector<uid_t> lease_uids;  // besides root: the SlurmUser
  // Reloads tenants.toml; returns the error (naming the file and lines) and keeps the old
  // config when the new one is invalid.
  std::function<Status()> reload;
};

class Service final : public RequestHandler {
 public:
  Service(Engine* engine, ServiceOptions options);
  void Handle(const Peer& peer, const std::string& op, const nlohmann::json& request,
              ReplyToken token) override;

 private:
  struct Caller {
    uid_t uid = 0;
    std::shared_ptr<const Identity> id;
    bool admin = false;        // root or listed in the config's admins
    bool lease_rights = false;  // root, SlurmUser, or admin
  };
  Caller Resolve(const Peer& peer);
  Caller ResolveUncached(const Peer& peer);
  std::string Describe(const Caller& c) const;

  void CheckSubmit(const Caller& c, const nlohmann::json& req, ReplyToken token);
  void Acquire(const Caller& c, const nlohmann::json& req, ReplyToken token);
  void Release(const Caller& c, const nlohmann::json& req, ReplyToken token);
  void Heartbeat(const Caller& c, const nlohmann::json& req, ReplyToken token);
  void GetLease(const Caller& c, const nlohmann::json& req, ReplyToken token);
  void Query(const Caller& c, const nlohmann::json& req, ReplyToken token);
  void Reload(const Caller& c, ReplyToken token);

  Engine* engine_;
  ServiceOptions options_;
  IdentityCache identities_;

  // Views are rebuilt only when the state changed (or a second passed: they show accruing
  // usage), so a burst of identical queries costs one build.
  struct CachedView {
    uint64_t version = 0;
    int64_t built_ms = 0;
    std::string body;
  };
  std::mutex cache_mu_;
  std::map<std::string, CachedView> cache_;

  // Callers by uid, valid for one config generation and a minute (group changes).
  struct CachedCaller {
    Caller caller;
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex callers_mu_;
  std::unordered_map<uid_t, CachedCaller> callers_;
};

}  // namespace egret::quotad
