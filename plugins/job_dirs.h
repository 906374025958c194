// Directories the plugin owns on a node, created and removed as root without following
// anything a user could have planted: every step is openat() with O_NOFOLLOW from a root
// that is checked to be root-owned and closed to everyone else.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"

namespace egret::plugin {

// A file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  bool valid() const { return fd_ >= 0; }
  // "/proc/self/fd/N": a path that names exactly this directory, for mount(2).
  std::string ProcPath() const;

 private:
  int fd_ = -1;
};

// Opens DIR, creating it (and missing parents, 0755 root) as mode 0700 root:root. An
// existing DIR must be a real directory owned by root with no group/other access; the error
// says how to fix it otherwise.
Result<Fd> OpenPrivateRoot(const std::string& dir);

// Opens (creating) the directory NAME under the open root PARENT, owned by UID:GID with MODE.
Result<Fd> EnsureOwnedDir(const Fd& parent, const std::string& parent_path,
                          const std::string& name, uid_t uid, gid_t gid, mode_t mode);

// Removes NAME under PARENT and everything below it, never following symlinks or crossing
// into another file system; iterative, so a deep tree cannot exhaust the stack or the fds.
Status RemoveTree(int parent_fd, const std::string& name);

// Removes every private directory of JOB_ID on HOST under ROOT (any start time). Returns
// how many were removed; a missing ROOT is not an error.
Result<int> RemoveJobDirs(const std::string& root, uint32_t job_id, const std::string& host);

}  // namespace egret::plugin
