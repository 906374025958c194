#include "scheduler/auth/identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace egret::quotad {

Identity ResolveIdentity(uid_t uid) {
  Identity id;
  id.uid = uid;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* res = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) != 0 || !res) return id;
  id.user = pw.pw_name;
  int n = 64;
  std::vector<gid_t> gids(static_cast<size_t>(n));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) < 0) {
    gids.resize(static_cast<size_t>(n));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) < 0) n = 0;
  }
  gids.resize(static_cast<size_t>(n));
  for (gid_t g : gids) {
    group gr{};
    group* gres = nullptr;
    std::vector<char> gbuf(65536);
    if (::getgrgid_r(g, &gr, gbuf.data(), gbuf.size(), &gres) == 0 && gres)
      id.groups.push_back(gr.gr_name);
  }
  return id;
}

long UidOf(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* res = nullptr;
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res) return -1;
  return static_cast<long>(pw.pw_uid);
}

std::shared_ptr<const Identity> IdentityCache::Lookup(uid_t uid) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(uid);
    if (it != cache_.end() &&
        std::chrono::duration<double>(now - it->second.at).count() < ttl_)
      return it->second.id;
  }
  auto id = std::make_shared<const Identity>(ResolveIdentity(uid));
  std::lock_guard<std::mutex> l(mu_);
  cache_[uid] = Entry{id, now};
  return id;
}

void IdentityCache::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  cache_.clear();
}

}  // namespace egret::quotad
