#include "scheduler/client/connection.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "scheduler/protocol/frame.h"
#include "scheduler/protocol/messages.h"

namespace egret::quotad {

using nlohmann::json;

namespace {

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int RemainingMs(double deadline) {
  double left = deadline - Now();
  if (left <= 0) return 0;
  return static_cast<int>(left * 1000.0) + 1;
}

std::string Errno(int e) { return std::strerror(e); }

// Waits until FD is ready for EVENTS or the deadline passes.
Status WaitFor(int fd, short events, double deadline, const std::string& what) {
  for (;;) {
    pollfd p{fd, events, 0};
    int ms = RemainingMs(deadline);
    if (ms == 0) return Error("timed out " + what);
    int r = ::poll(&p, 1, ms);
    if (r > 0) return Ok();
    if (r == 0) return Error("timed out " + what);
    if (errno != EINTR) return Error(what + ": poll: " + Errno(errno));
  }
}

Result<int> ConnectUnix(const std::string& path, double deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return Error("socket path '" + path + "' is empty or longer than " +
                 std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error("socket: " + Errno(errno));
  // A blocking connect waits while the daemon's listen backlog is full; SO_SNDTIMEO bounds
  // that wait (for Unix sockets it applies to connect).
  int ms = RemainingMs(deadline);
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int r;
  do {
    r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    int e = errno;
    ::close(fd);
    if (e == ECONNREFUSED)
      return Error("cannot connect to egret-quotad at " + path +
                   ": connection refused (the daemon is not running)");
    if (e == ENOENT)
      return Error("cannot connect to egret-quotad at " + path +
                   ": no such socket (the daemon is not running, or the path is wrong)");
    if (e == EAGAIN || e == EINPROGRESS)
      return Error("timed out connecting to egret-quotad at " + path + " (daemon busy)");
    return Error("cannot connect to egret-quotad at " + path + ": " + Errno(e));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

Result<int> ConnectTcp(const std::string& hostport, double deadline) {
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size())
    return Error("address 'tcp://" + hostport + "' must be tcp://HOST:PORT");
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int g = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (g != 0) return Error("cannot resolve " + hostport + ": " + ::gai_strerror(g));
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      Status w = WaitFor(fd, POLLOUT, deadline, "connecting to egret-quotad at " + hostport);
      int err = 0;
      socklen_t len = sizeof(err);
      if (w.ok() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) r = 0;
      else last = w.ok() ? Errno(err) : w.error().message();
    } else if (r != 0) {
      last = Errno(errno);
    }
    if (r == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return Error("cannot connect to egret-quotad at tcp://" + hostport + ": " + last);
}

}  // namespace

// libmunge, loaded on first use by a TCP connection only.
struct Connection::Munge {
  void* lib = nullptr;
  int (*encode)(char**, void*, const void*, int) = nullptr;
  const char* (*strerror)(int) = nullptr;
  ~Munge() {
    if (lib) ::dlclose(lib);
  }
  static Result<std::unique_ptr<Munge>> Load() {
    auto m = std::make_unique<Munge>();
    m->lib = ::dlopen("libmunge.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!m->lib)
      return Error("TCP needs libmunge.so.2 (apt-get install -y libmunge2): " +
                   std::string(::dlerror()));
    m->encode = reinterpret_cast<int (*)(char**, void*, const void*, int)>(
        ::dlsym(m->lib, "munge_encode"));
    m->strerror = reinterpret_cast<const char* (*)(int)>(::dlsym(m->lib, "munge_strerror"));
    if (!m->encode || !m->strerror) return Error("libmunge.so.2 lacks munge_encode");
    return m;
  }
};

Connection::Connection(int fd, std::string address, double timeout_s,
                       std::unique_ptr<Munge> munge)
    : fd_(fd), address_(std::move(address)), timeout_s_(timeout_s), munge_(std::move(munge)) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& address,
                                                     double timeout_s) {
  double deadline = Now() + timeout_s;
  std::unique_ptr<Munge> munge;
  Result<int> fd = Error("");
  if (address.rfind("tcp://", 0) == 0) {
    auto m = Munge::Load();
    if (!m.ok()) return m.error();
    munge = std::move(*m);
    fd = ConnectTcp(address.substr(6), deadline);
  } else {
    fd = ConnectUnix(address, deadline);
  }
  if (!fd.ok()) return fd.error();
  return std::unique_ptr<Connection>(new Connection(*fd, address, timeout_s, std::move(munge)));
}

Status Connection::WriteAll(const std::string& data, double deadline) {
  size_t off = 0;
  while (off < data.size()) {
    // MSG_NOSIGNAL: a daemon that went away must be an error here, never a SIGPIPE in the
    // process that loaded us (slurmstepd, sbatch).
    ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      EGRET_TRY(WaitFor(fd_, POLLOUT, deadline, "sending to egret-quotad at " + address_));
      continue;
    }
    return Error("sending to egret-quotad at " + address_ + ": " + Errno(errno));
  }
  return Ok();
}

Status Connection::ReadExact(char* buf, size_t n, double deadline) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = ::recv(fd_, buf + off, n - off, 0);
    if (r > 0) {
      off += static_cast<size_t>(r);
      continue;
    }
    if (r == 0)
      return Error("egret-quotad at " + address_ + " closed the connection" +
                   (off ? " in the middle of a reply" : ""));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      EGRET_TRY(WaitFor(fd_, POLLIN, deadline, "waiting for egret-quotad at " + address_));
      continue;
    }
    return Error("reading from egret-quotad at " + address_ + ": " + Errno(errno));
  }
  return Ok();
}

Result<json> Connection::ReadReply(double deadline) {
  char header[kHeaderSize];
  Status r = ReadExact(header, kHeaderSize, deadline);
  if (!r.ok()) {
    ::close(fd_);
    fd_ = -1;
    return r.error();
  }
  FrameHeader h;
  HeaderStatus hs = DecodeHeader(header, FrameKind::kReply, kMaxReplyBody, &h);
  if (hs != HeaderStatus::kOk) {
    ::close(fd_);
    fd_ = -1;
    return Error("bad reply from egret-quotad at " + address_ + ": " +
                 DescribeHeaderStatus(hs, h, kMaxReplyBody));
  }
  std::string body(h.length, '\0');
  Status b = ReadExact(body.data(), body.size(), deadline);
  if (!b.ok()) {
    ::close(fd_);
    fd_ = -1;
    return b.error();
  }
  auto j = ParseBody(body);
  if (!j.ok()) return Error("bad reply from egret-quotad at " + address_ + ": " + j.error().message());
  return std::move(*j);
}

Result<json> Connection::Exchange(const std::string& frame) {
  if (fd_ < 0) return Error("connection to egret-quotad at " + address_ + " is closed");
  double deadline = Now() + timeout_s_;
  Status w = WriteAll(frame, deadline);
  if (!w.ok()) {
    ::close(fd_);
    fd_ = -1;
    return w.error();
  }
  return ReadReply(deadline);
}

Result<std::string> Connection::Encode(const json& request) {
  std::string body;
  try {
    body = request.dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (...) {
    return Error("request cannot be encoded as JSON");
  }
  if (munge_) {
    char* cred = nullptr;
    int rc = munge_->encode(&cred, nullptr, body.data(), static_cast<int>(body.size()));
    if (rc != 0) {
      std::string why = munge_->strerror(rc);
      std::free(cred);
      return Error("cannot create a MUNGE credential (is munged running?): " + why);
    }
    body = json{{"munge", cred}}.dump();
    std::free(cred);
  }
  if (body.size() > kMaxRequestBody)
    return Error("request of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                 std::to_string(kMaxRequestBody));
  std::string frame;
  AppendFrame(FrameKind::kRequest, body, &frame);
  return frame;
}

Result<json> Connection::Call(const json& request) {
  EGRET_ASSIGN_OR_RETURN(std::string frame, Encode(request));
  return Exchange(frame);
}

Result<std::vector<json>> Connection::CallPipelined(const std::vector<json>& requests) {
  if (fd_ < 0) return Error("connection to egret-quotad at " + address_ + " is closed");
  std::string frames;
  for (const json& r : requests) {
    EGRET_ASSIGN_OR_RETURN(std::string f, Encode(r));
    frames += f;
  }
  double deadline = Now() + timeout_s_;
  Status w = WriteAll(frames, deadline);
  if (!w.ok()) {
    ::close(fd_);
    fd_ = -1;
    return w.error();
  }
  std::vector<json> replies;
  replies.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    EGRET_ASSIGN_OR_RETURN(json j, ReadReply(deadline));
    replies.push_back(std::move(j));
  }
  return replies;
}

Result<json> Connection::CallOk(const json& request) {
  EGRET_ASSIGN_OR_RETURN(json reply, Call(request));
  if (GetBool(reply, "ok").value_or(false)) return reply;
  return Error(GetString(reply, "error").value_or("egret-quotad refused the request"));
}

Result<json> Connection::CallRaw(const std::string& bytes) { return Exchange(bytes); }

}  // namespace egret::quotad
