#include "plugins/isolation.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace egret::plugin {
namespace {

std::string Errno(int e) { return std::strerror(e); }

Result<gid_t> TenantGroup(const Config& config, const std::string& tenant) {
  std::string name = config.group_prefix + tenant;
  std::vector<char> buf(16384);
  group g;
  group* out = nullptr;
  int rc = ::getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &out);
  if (rc != 0 && rc != ENOENT && rc != ESRCH)
    return Error("cannot look up group " + name + ": " + Errno(rc));
  return out ? out->gr_gid : static_cast<gid_t>(-1);
}

Status Mount(const std::string& source, const std::string& target, const char* fstype,
             unsigned long flags, const char* data, const std::string& what) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), fstype, flags, data) != 0)
    return Error("cannot " + what + " (" + target + "): " + Errno(errno));
  return Ok();
}

// Bind SOURCE (a /proc/self/fd path) on TARGET, then apply FLAGS (MS_RDONLY, MS_NOSUID...)
// to that bind: a bind mount takes its own flags only through a remount.
Status Bind(const std::string& source, const std::string& target, unsigned long flags,
            const std::string& what) {
  EGRET_TRY(Mount(source, target, nullptr, MS_BIND | MS_REC, nullptr, "bind " + what));
  return Mount("", target, nullptr, MS_REMOUNT | MS_BIND | flags, nullptr, "restrict " + what);
}

}  // namespace

Result<Fd> PrepareTenantDir(const Config& config, const std::string& tenant) {
  EGRET_ASSIGN_OR_RETURN(Fd root, OpenPrivateRoot(config.tenants_root));
  EGRET_ASSIGN_OR_RETURN(gid_t group, TenantGroup(config, tenant));
  bool has_group = group != static_cast<gid_t>(-1);
  gid_t gid = has_group ? group : 0;
  // Only this tenant's jobs ever see these directories (the store root is root's alone and
  // covered in every job), so without a tenant group they stay open to the tenant's members
  // by mode; with a group the group alone gets in.
  struct stat st;
  bool exists = ::fstatat(root.get(), tenant.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  std::string tenant_path = config.tenants_root + "/" + tenant;
  Fd dir;
  if (exists) {
    dir = Fd(::openat(root.get(), tenant.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid())
      return Error("cannot open " + tenant_path + ": " + Errno(errno) +
                   " (a tenant directory must be a real directory)");
  } else {
    EGRET_ASSIGN_OR_RETURN(dir, EnsureOwnedDir(root, config.tenants_root, tenant, 0, gid,
                                               has_group ? 0750 : 0755));
  }
  for (const std::string& sub : TenantSubdirs()) {
    if (::fstatat(dir.get(), sub.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISDIR(st.st_mode))
        return Error(tenant_path + "/" + sub + " is not a directory (a symlink or file there "
                     "could point outside the tenant): replace it with a directory or a mount");
      continue;
    }
    bool writable = std::find(config.writable.begin(), config.writable.end(), sub) !=
                    config.writable.end();
    mode_t mode = has_group ? (writable ? 02770 : 02750) : (writable ? 01777 : 0755);
    EGRET_ASSIGN_OR_RETURN(Fd made, EnsureOwnedDir(dir, tenant_path, sub, 0, gid, mode));
  }
  return dir;
}

Status PrepareJobDirs(const Config& config, const std::string& dir_name, uid_t uid, gid_t gid,
                      IsolationPlan* plan) {
  EGRET_ASSIGN_OR_RETURN(Fd tmp_root, OpenPrivateRoot(config.job_root));
  EGRET_ASSIGN_OR_RETURN(plan->job_tmp, EnsureOwnedDir(tmp_root, config.job_root, dir_name, uid,
                                                       gid, 0700));
  EGRET_ASSIGN_OR_RETURN(Fd shm_root, OpenPrivateRoot(config.shm_root));
  EGRET_ASSIGN_OR_RETURN(plan->job_shm, EnsureOwnedDir(shm_root, config.shm_root, dir_name, uid,
                                                       gid, 0700));
  return Ok();
}

void FindPassthrough(uint32_t job_id, uint32_t step_id, uid_t uid, IsolationPlan* plan) {
  // Slurm 22.05 names it spmix_appdir_<uid>_<job>.<step>; older releases spmix_appdir_<job>.<step>.
  std::string suffix = std::to_string(job_id) + "." + std::to_string(step_id);
  for (std::string name : {"spmix_appdir_" + std::to_string(uid) + "_" + suffix,
                           "spmix_appdir_" + suffix}) {
    Fd fd(::open(("/tmp/" + name).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) continue;
    struct stat st;
    // Slurm creates it owned by the job's user; anything else is not ours to pass through.
    if (::fstat(fd.get(), &st) != 0 || st.st_uid != uid) continue;
    plan->tmp_passthrough.emplace_back(name, std::move(fd));
  }
}

Status UnshareMounts() {
  if (::unshare(CLONE_NEWNS) != 0)
    return Error("cannot create a private mount namespace: " + Errno(errno));
  // Nothing mounted here may propagate back to the host, nor host mounts leak in later.
  return Mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr, "make / private");
}

Status BuildJobView(IsolationPlan& plan) {
  const std::string& root = plan.tenants_root;
  EGRET_TRY(Mount("egret", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0755,size=64k,nr_inodes=64", "cover the tenants root"));
  if (!plan.tenant.empty()) {
    std::string mine = root + "/" + plan.tenant;
    if (::mkdir(mine.c_str(), 0755) != 0) return Error("mkdir " + mine + ": " + Errno(errno));
    EGRET_TRY(Bind(plan.tenant_dir.ProcPath(), mine, MS_NOSUID | MS_NODEV, "the tenant directory"));
    for (const std::string& sub : plan.read_only) {
      std::string p = mine + "/" + sub;
      EGRET_TRY(Mount(p, p, nullptr, MS_BIND | MS_REC, nullptr, "bind " + sub));
      EGRET_TRY(Mount("", p, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                      nullptr, "make " + sub + " read-only"));
    }
  }
  // The cover itself takes no new entries: a job cannot fake another tenant's directory.
  EGRET_TRY(Mount("", root, nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  nullptr, "make the tenants root read-only"));

  EGRET_TRY(Bind(plan.job_tmp.ProcPath(), "/tmp", MS_NOSUID | MS_NODEV, "the private /tmp"));
  for (auto& [name, fd] : plan.tmp_passthrough) {
    std::string target = "/tmp/" + name;
    if (::mkdir(target.c_str(), 0700) != 0 && errno != EEXIST)
      return Error("mkdir " + target + ": " + Errno(errno));
    EGRET_TRY(Bind(fd.ProcPath(), target, MS_NOSUID | MS_NODEV, "Slurm's PMIx directory"));
  }
  // /var/tmp is the other world-writable scratch directory on a node: the job gets its own
  // /tmp there too, so nothing is left behind in it for the next job to find.
  struct stat vt;
  if (::lstat("/var/tmp", &vt) == 0 && S_ISDIR(vt.st_mode))
    EGRET_TRY(Bind(plan.job_tmp.ProcPath(), "/var/tmp", MS_NOSUID | MS_NODEV, "the private /var/tmp"));
  EGRET_TRY(Bind(plan.job_shm.ProcPath(), "/dev/shm", MS_NOSUID | MS_NODEV, "the private /dev/shm"));

  if (plan.hidepid) {
    // A procfs of its own (per-mount options since Linux 5.8): other users' processes, and
    // with them /proc/<pid>/root into their namespaces, are invisible.
    EGRET_TRY(Mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2",
                    "mount a private /proc"));
  }
  plan.tenant_dir = Fd();
  plan.job_tmp = Fd();
  plan.job_shm = Fd();
  plan.tmp_passthrough.clear();
  return Ok();
}

}  // namespace egret::plugin
