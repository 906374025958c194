#include "plugins/job_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "plugins/paths.h"

namespace egret::plugin {
namespace {

std::string Errno(int e) { return std::strerror(e); }

std::string Octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Result<Fd> MkdirParents(const std::string& path) {
  // Parents of a private root (e.g. /srv/egret) are ordinary 0755 root directories.
  Fd fd(::open("/", kDirFlags));
  if (!fd.valid()) return Error("open /: " + Errno(errno));
  std::string so_far;
  std::string norm = NormalizePath(path);
  size_t i = 1;
  while (i < norm.size()) {
    size_t j = norm.find('/', i);
    if (j == std::string::npos) j = norm.size();
    std::string part = norm.substr(i, j - i);
    so_far += "/" + part;
    bool last = j == norm.size();
    if (::mkdirat(fd.get(), part.c_str(), last ? 0700 : 0755) != 0 && errno != EEXIST)
      return Error("cannot create " + so_far + ": " + Errno(errno));
    // Parents may be symlinks an admin set up (e.g. /srv -> /data/srv); the private root
    // itself must not be.
    Fd next(::openat(fd.get(), part.c_str(), last ? kDirFlags : (O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
    if (!next.valid()) return Error("cannot open " + so_far + ": " + Errno(errno));
    fd = std::move(next);
    i = j + 1;
  }
  return fd;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Fd::ProcPath() const { return "/proc/self/fd/" + std::to_string(fd_); }

Result<Fd> OpenPrivateRoot(const std::string& dir) {
  EGRET_ASSIGN_OR_RETURN(Fd fd, MkdirParents(dir));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error("stat " + dir + ": " + Errno(errno));
  if (st.st_uid != 0 || (st.st_mode & 077) != 0)
    return Error(dir + " is owned by uid " + std::to_string(st.st_uid) + " with mode " +
                 Octal(st.st_mode) + "; it must be root's alone so no job can reach what lies " +
                 "below it: chown root:root " + dir + " && chmod 0700 " + dir);
  return fd;
}

Result<Fd> EnsureOwnedDir(const Fd& parent, const std::string& parent_path,
                          const std::string& name, uid_t uid, gid_t gid, mode_t mode) {
  std::string path = parent_path + "/" + name;
  bool created = ::mkdirat(parent.get(), name.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return Error("cannot create " + path + ": " + Errno(errno));
  Fd fd(::openat(parent.get(), name.c_str(), kDirFlags));
  if (!fd.valid())
    return Error("cannot open " + path + ": " + Errno(errno) +
                 (errno == ELOOP || errno == ENOTDIR ? " (it must be a real directory)" : ""));
  // Tasks of one step race to create the same directory: every one of them sets the same
  // owner and mode, so the last write wins with the right values.
  if (::fchown(fd.get(), uid, gid) != 0 || ::fchmod(fd.get(), mode) != 0)
    return Error("cannot set owner/mode of " + path + ": " + Errno(errno));
  return fd;
}

Status RemoveTree(int parent_fd, const std::string& name) {
  struct stat top;
  if (::fstatat(parent_fd, name.c_str(), &top, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Ok() : Error("stat " + name + ": " + Errno(errno));
  if (!S_ISDIR(top.st_mode)) {
    if (::unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      return Error("unlink " + name + ": " + Errno(errno));
    return Ok();
  }
  // Walk down one open directory at a time; the names of the directories above live on the
  // heap and ".." leads back up (nothing runs in a job's directories once the job ended).
  std::vector<std::string> path;  // below NAME
  Fd cur(::openat(parent_fd, name.c_str(), kDirFlags));
  if (!cur.valid()) return Error("open " + name + ": " + Errno(errno));
  const dev_t dev = top.st_dev;
  for (;;) {
    std::string subdir;
    {
      int dup_fd = ::dup(cur.get());
      if (dup_fd < 0) return Error("dup: " + Errno(errno));
      DIR* d = ::fdopendir(dup_fd);
      if (!d) {
        ::close(dup_fd);
        return Error("opendir: " + Errno(errno));
      }
      ::rewinddir(d);
      while (dirent* e = ::readdir(d)) {
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (::fstatat(cur.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
          subdir = e->d_name;
          break;
        }
        if (!S_ISDIR(st.st_mode)) ::unlinkat(cur.get(), e->d_name, 0);
        // A directory on another file system (a mount) is left alone; rmdir below then fails.
      }
      ::closedir(d);
    }
    if (!subdir.empty()) {
      Fd next(::openat(cur.get(), subdir.c_str(), kDirFlags));
      if (!next.valid()) return Error("open " + subdir + ": " + Errno(errno));
      path.push_back(subdir);
      cur = std::move(next);
      continue;
    }
    if (path.empty()) break;
    Fd up(::openat(cur.get(), "..", kDirFlags));
    if (!up.valid()) return Error("open ..: " + Errno(errno));
    if (::unlinkat(up.get(), path.back().c_str(), AT_REMOVEDIR) != 0)
      return Error("rmdir " + name + "/.../" + path.back() + ": " + Errno(errno));
    path.pop_back();
    cur = std::move(up);
  }
  cur = Fd();
  if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Error("rmdir " + name + ": " + Errno(errno));
  return Ok();
}

Result<int> RemoveJobDirs(const std::string& root, uint32_t job_id, const std::string& host) {
  Fd fd(::open(root.c_str(), kDirFlags));
  if (!fd.valid()) {
    if (errno == ENOENT) return 0;
    return Error("cannot open " + root + ": " + Errno(errno));
  }
  std::vector<std::string> names;
  {
    int dup_fd = ::dup(fd.get());
    DIR* d = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
    if (!d) {
      if (dup_fd >= 0) ::close(dup_fd);
      return Error("cannot list " + root + ": " + Errno(errno));
    }
    while (dirent* e = ::readdir(d))
      if (IsJobDirOf(e->d_name, job_id, host)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  int removed = 0;
  for (const auto& n : names) {
    Status st = RemoveTree(fd.get(), n);
    if (!st.ok()) return Error(root + "/" + n + ": " + st.error().message());
    ++removed;
  }
  return removed;
}

}  // namespace egret::plugin
