#include "scheduler/server/listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace egret::quotad {

Result<int> ListenUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return Error("--socket '" + path + "' is empty or longer than " +
                 std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error("socket: " + std::string(std::strerror(errno)));
  // A stale socket file from a daemon that was killed would make bind fail; the state-dir
  // lock (taken before this) guarantees no live daemon owns it.
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return Error("cannot bind " + path + ": " + why + " (does its directory exist?)");
  }
  // Everyone may connect; what each caller may do is decided from SO_PEERCRED.
  ::chmod(path.c_str(), 0666);
  if (::listen(fd, 1024) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return Error("cannot listen on " + path + ": " + why);
  }
  return fd;
}

Result<int> ListenTcp(const std::string& address, int* port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return Error("--tcp '" + address + "' must be HOST:PORT");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string host = address.substr(0, colon), p = address.substr(colon + 1);
  int g = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), p.c_str(), &hints, &res);
  if (g != 0) return Error("--tcp '" + address + "': " + ::gai_strerror(g));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
    std::string why = std::strerror(errno);
    ::freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    return Error("cannot listen on tcp " + address + ": " + why);
  }
  ::freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

}  // namespace egret::quotad
