#include "scheduler/metrics/http_exporter.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace egret::metrics {

Result<std::unique_ptr<HttpExporter>> HttpExporter::Start(const std::string& address,
                                                          std::function<std::string()> render) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return Error("--metrics '" + address + "' must be HOST:PORT, e.g. 127.0.0.1:9464");
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int g = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (g != 0) return Error("--metrics '" + address + "': " + ::gai_strerror(g));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
    std::string why = std::strerror(errno);
    ::freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    return Error("--metrics " + address + ": cannot listen: " + why);
  }
  ::freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  int bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return std::unique_ptr<HttpExporter>(new HttpExporter(fd, bound, std::move(render)));
}

HttpExporter::HttpExporter(int fd, int port, std::function<std::string()> render)
    : fd_(fd), port_(port), render_(std::move(render)) {
  thread_ = std::thread([this] { Run(); });
}

HttpExporter::~HttpExporter() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void HttpExporter::Run() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    Serve(c);
    ::close(c);
  }
}

void HttpExporter::Serve(int c) {
  timeval tv{2, 0};
  ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    ssize_t n = ::recv(c, buf, sizeof buf, 0);
    if (n <= 0) return;
    req.append(buf, static_cast<size_t>(n));
  }
  std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
  if (req.rfind("GET /metrics", 0) == 0 || req.rfind("GET / ", 0) == 0) {
    body = render_();
  } else {
    status = "404 Not Found";
    type = "text/plain";
    body = "egret-quotad serves GET /metrics\n";
  }
  std::string head = "HTTP/1.0 " + status + "\r\nContent-Type: " + type +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n";
  std::string all = head + body;
  size_t off = 0;
  while (off < all.size()) {
    ssize_t n = ::send(c, all.data() + off, all.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace egret::metrics
