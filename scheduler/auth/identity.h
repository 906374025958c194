// Who a uid is: its user name and the names of all its groups (primary and supplementary,
// resolved with getgrouplist, so NSS/LDAP groups count). Cached for a short while, because
// the daemon asks on every request and NSS can be slow.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace egret::quotad {

struct Identity {
  uid_t uid = 0;
  std::string user;  // empty when the uid has no passwd entry
  std::vector<std::string> groups;
};

class IdentityCache {
 public:
  explicit IdentityCache(double ttl_s = 60) : ttl_(ttl_s) {}
  std::shared_ptr<const Identity> Lookup(uid_t uid);
  void Clear();

 private:
  struct Entry {
    std::shared_ptr<const Identity> id;
    std::chrono::steady_clock::time_point at;
  };
  double ttl_;
  std::mutex mu_;
  std::map<uid_t, Entry> cache_;
};

// Uncached resolution (passwd + getgrouplist + group names).
Identity ResolveIdentity(uid_t uid);
// The uid of USER, or -1.
long UidOf(const std::string& user);

}  // namespace egret::quotad
