#include "plugins/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "common/strings.h"
#include "plugins/paths.h"
#include "scheduler/client/quotad_client.h"

namespace egret::plugin {
namespace {

constexpr const char* kKeys =
    "socket, tenants_root, job_root, shm_root, unmanaged, writable, keep_env, group_prefix, "
    "failure, hidepid, timeout";

Error ArgError(const std::string& arg, const std::string& why) {
  return Error("plugstack.conf: egret.so argument '" + arg + "': " + why);
}

std::vector<std::string> ParseList(std::string_view value) {
  std::vector<std::string> out;
  for (auto& item : Split(value, ',', /*skip_empty=*/true)) out.emplace_back(Trim(item));
  return out;
}

// Paths a job's private mounts must never sit under: they are themselves replaced inside
// the job (so the real directory would be unreachable there) or are pseudo file systems.
bool UnderCoveredMount(const std::string& path) {
  for (const char* covered : {"/tmp", "/dev/shm", "/proc", "/sys", "/dev"})
    if (IsWithin(path, covered)) return true;
  return false;
}

Result<std::string> AbsoluteDir(const std::string& arg, std::string_view value) {
  if (value.empty() || value[0] != '/') return ArgError(arg, "must be an absolute path");
  std::string norm = NormalizePath(value);
  if (norm == "/") return ArgError(arg, "must not be / itself");
  return norm;
}

}  // namespace

Result<Config> ParseConfig(const std::vector<std::string>& args) {
  Config c;
  c.socket = quotad::kDefaultSocket;
  c.tenants_root = "/srv/egret/tenants";
  c.job_root = "/var/lib/egret/jobs";
  c.shm_root = "/run/egret/shm";
  c.writable = {"checkpoints"};
  c.group_prefix = "egret-";
  for (const std::string& arg : args) {
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      return ArgError(arg, std::string("expected key=value (keys: ") + kKeys + ")");
    std::string key = arg.substr(0, eq);
    std::string value = arg.substr(eq + 1);
    if (key == "socket") {
      if (value.empty()) return ArgError(arg, "must name egret-quotad's socket");
      c.socket = value;
    } else if (key == "tenants_root") {
      EGRET_ASSIGN_OR_RETURN(c.tenants_root, AbsoluteDir(arg, value));
      if (UnderCoveredMount(c.tenants_root))
        return ArgError(arg, "must not be under /tmp, /dev, /proc or /sys (jobs get private ones)");
    } else if (key == "job_root") {
      EGRET_ASSIGN_OR_RETURN(c.job_root, AbsoluteDir(arg, value));
      if (UnderCoveredMount(c.job_root))
        return ArgError(arg, "must not be under /tmp, /dev, /proc or /sys (jobs get private ones)");
    } else if (key == "shm_root") {
      EGRET_ASSIGN_OR_RETURN(c.shm_root, AbsoluteDir(arg, value));
      if (IsWithin(c.shm_root, "/tmp") || IsWithin(c.shm_root, "/proc") ||
          IsWithin(c.shm_root, "/sys"))
        return ArgError(arg, "must not be under /tmp, /proc or /sys (use a tmpfs such as /dev/shm)");
    } else if (key == "unmanaged") {
      c.unmanaged = ParseList(value);
    } else if (key == "writable") {
      c.writable = ParseList(value);
      const auto& subs = TenantSubdirs();
      for (const auto& w : c.writable)
        if (std::find(subs.begin(), subs.end(), w) == subs.end())
          return ArgError(arg, "'" + w + "' is not a tenant subdirectory (data, models, checkpoints)");
    } else if (key == "keep_env") {
      c.keep_env = ParseList(value);
    } else if (key == "group_prefix") {
      for (char ch : value)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.'))
          return ArgError(arg, "may hold only letters, digits, '_', '-' and '.'");
      c.group_prefix = value;
    } else if (key == "failure") {
      if (value == "closed") c.failure = FailurePolicy::kClosed;
      else if (value == "open") c.failure = FailurePolicy::kOpen;
      else return ArgError(arg, "must be 'closed' (refuse when egret-quotad is unreachable) or 'open'");
    } else if (key == "hidepid") {
      if (value == "yes" || value == "1" || value == "true") c.hidepid = true;
      else if (value == "no" || value == "0" || value == "false") c.hidepid = false;
      else return ArgError(arg, "must be yes or no");
    } else if (key == "timeout") {
      char* end = nullptr;
      errno = 0;
      double t = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || errno != 0 || !std::isfinite(t) || t <= 0 || t > 300)
        return ArgError(arg, "must be a number of seconds in (0, 300]");
      c.timeout_s = t;
    } else {
      return ArgError(arg, std::string("unknown key '") + key + "' (keys: " + kKeys + ")");
    }
  }
  if (IsWithin(c.job_root, c.tenants_root) || IsWithin(c.tenants_root, c.job_root))
    return Error("plugstack.conf: egret.so: tenants_root " + c.tenants_root + " and job_root " +
                 c.job_root + " must not contain one another");
  return c;
}

std::vector<std::string> ConfigArgs(const Config& c) {
  std::vector<std::string> out = {
      "socket=" + c.socket,
      "tenants_root=" + c.tenants_root,
      "job_root=" + c.job_root,
      "shm_root=" + c.shm_root,
      "failure=" + std::string(c.failure == FailurePolicy::kClosed ? "closed" : "open"),
      "hidepid=" + std::string(c.hidepid ? "yes" : "no"),
      "writable=" + Join(c.writable, ","),
      "group_prefix=" + c.group_prefix,
  };
  if (!c.unmanaged.empty()) out.push_back("unmanaged=" + Join(c.unmanaged, ","));
  if (!c.keep_env.empty()) out.push_back("keep_env=" + Join(c.keep_env, ","));
  return out;
}

}  // namespace egret::plugin
