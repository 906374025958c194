#include "scheduler/server/server.h"

#include <netdb.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "scheduler/auth/munge_cred.h"
#include "scheduler/protocol/frame.h"
#include "scheduler/protocol/messages.h"
#include "scheduler/server/listen.h"

namespace egret::quotad {

using nlohmann::json;

namespace {

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr uint64_t kUnixListener = 1, kTcpListener = 2, kWakeup = 3, kFirstConn = 16;
constexpr size_t kReadChunk = 64 * 1024;
// At most one whole frame plus one read chunk is ever buffered per connection.
constexpr size_t kMaxBuffered = kHeaderSize + kMaxRequestBody + kReadChunk;

const char* kOps[] = {"ping", "check_submit", "acquire", "release", "heartbeat",
                      "get_lease", "query", "reload"};

}  // namespace

struct Conn {
  uint64_t id = 0;
  int fd = -1;
  Peer peer;
  std::string rbuf;
  std::string wbuf;
  size_t woff = 0;
  bool awaiting = false;
  bool closing = false;  // close once wbuf is written
  bool eof = false;      // the peer will send nothing more
  bool registered = true;  // in the epoll set
  double frame_started = 0;
  double write_started = 0;
  double last_active = 0;
  double dispatched_at = 0;
  metrics::Histogram* latency = nullptr;
  uint32_t events = 0;
};

struct Server::Worker {
  Server* server = nullptr;
  int index = 0;
  int epfd = -1;
  int wakefd = -1;
  std::thread thread;
  std::thread::id tid;
  std::atomic<bool> stop{false};
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  uint64_t next_id = kFirstConn;
  bool in_dispatch = false;
  bool in_process = false;   // replies are flushed once at the end of ProcessFrames
  std::unique_ptr<char[]> scratch{new char[kReadChunk]};  // recv target: no zero-fill per read

  std::mutex mu;
  std::vector<std::pair<uint64_t, std::string>> completions;

  // Metrics (shared by all workers; the registry owns them).
  metrics::Counter* accepted = nullptr;
  metrics::Counter* refused = nullptr;
  metrics::Counter* bad_header = nullptr;
  metrics::Counter* bad_body = nullptr;
  metrics::Counter* timeouts = nullptr;
  metrics::Counter* auth_failures = nullptr;
  std::map<std::string, metrics::Histogram*>* latency = nullptr;

  void Run();
  void Accept(int lfd, bool tcp);
  void OnReadable(Conn* c, uint32_t events);
  void ProcessFrames(Conn* c);
  void Dispatch(Conn* c, std::string_view body);
  void Reply(Conn* c, std::string_view body);
  void ReplyError(Conn* c, const char* code, const std::string& msg, bool close);
  void Flush(Conn* c);
  void UpdateInterest(Conn* c);
  void Close(Conn* c);
  void Sweep(double now);
  void DrainCompletions();
  void OnCompletion(uint64_t id, std::string body);
};


void ReplyToken::Send(std::string body) const {
  if (server_) server_->Deliver(worker_, conn_id_, std::move(body));
}

Server::Server(const ServerOptions& o, RequestHandler* h, metrics::Registry* m)
    : options_(o), handler_(h), metrics_(m) {}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                              RequestHandler* handler,
                                              metrics::Registry* metrics) {
  std::unique_ptr<Server> s(new Server(options, handler, metrics));
  EGRET_ASSIGN_OR_RETURN(s->unix_fd_, ListenUnix(options.unix_path));
  if (!options.tcp_address.empty()) {
    EGRET_ASSIGN_OR_RETURN(s->tcp_fd_, ListenTcp(options.tcp_address, &s->tcp_port_));
  }
  auto* latency = &s->latency_;
  std::vector<double> bounds = {25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2e-3,
                                5e-3,  10e-3, 25e-3,  50e-3,  0.1,    0.25, 1.0};
  for (const char* op : kOps)
    (*latency)[op] = metrics->AddHistogram("egret_quotad_request_seconds",
                                           "Time from a whole request to its reply being sent, by op",
                                           bounds, std::string("op=\"") + op + "\"");
  (*latency)["other"] = metrics->AddHistogram("egret_quotad_request_seconds", "", bounds, "op=\"other\"");
  auto* accepted = metrics->AddCounter("egret_quotad_connections_total", "Connections accepted");
  auto* refused = metrics->AddCounter("egret_quotad_connections_refused_total",
                                      "Connections refused by the total or per-uid cap");
  auto* bad_header = metrics->AddCounter("egret_quotad_protocol_errors_total",
                                         "Malformed messages, by kind", "kind=\"header\"");
  auto* bad_body = metrics->AddCounter("egret_quotad_protocol_errors_total", "", "kind=\"body\"");
  auto* timeouts = metrics->AddCounter("egret_quotad_protocol_errors_total", "", "kind=\"timeout\"");
  auto* auth = metrics->AddCounter("egret_quotad_protocol_errors_total", "", "kind=\"credential\"");
  int n = std::max(1, options.io_threads);
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->server = s.get();
    w->index = i;
    w->epfd = ::epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    w->accepted = accepted;
    w->refused = refused;
    w->bad_header = bad_header;
    w->bad_body = bad_body;
    w->timeouts = timeouts;
    w->auth_failures = auth;
    w->latency = latency;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kUnixListener;
    ::epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->unix_fd_, &ev);
    if (s->tcp_fd_ >= 0) {
      ev.data.u64 = kTcpListener;
      ::epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->tcp_fd_, &ev);
    }
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeup;
    ::epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev);
    s->workers_.push_back(std::move(w));
  }
  for (auto& w : s->workers_) {
    Worker* wp = w.get();
    w->thread = std::thread([wp] { wp->Run(); });
  }
  return s;
}

Server::~Server() {
  for (auto& w : workers_) {
    w->stop = true;
    uint64_t one = 1;
    (void)!::write(w->wakefd, &one, sizeof one);
  }
  for (auto& w : workers_) {
    w->thread.join();
    for (auto& [id, c] : w->conns) ::close(c->fd);
    ::close(w->epfd);
    ::close(w->wakefd);
  }
  if (unix_fd_ >= 0) {
    ::close(unix_fd_);
    ::unlink(options_.unix_path.c_str());
  }
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
}

void Server::Deliver(int worker, uint64_t conn_id, std::string body) {
  Worker* w = workers_[static_cast<size_t>(worker)].get();
  if (std::this_thread::get_id() == w->tid) {
    w->OnCompletion(conn_id, std::move(body));
    return;
  }
  bool wake;
  {
    std::lock_guard<std::mutex> l(w->mu);
    wake = w->completions.empty();
    w->completions.emplace_back(conn_id, std::move(body));
  }
  if (wake) {
    uint64_t one = 1;
    (void)!::write(w->wakefd, &one, sizeof one);
  }
}

void Server::Worker::Run() {
  tid = std::this_thread::get_id();
  epoll_event events[256];
  double last_sweep = Now();
  while (!stop) {
    int n = ::epoll_wait(epfd, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      uint64_t key = events[i].data.u64;
      if (key == kUnixListener) {
        Accept(server->unix_fd_, false);
      } else if (key == kTcpListener) {
        Accept(server->tcp_fd_, true);
      } else if (key == kWakeup) {
        uint64_t v;
        (void)!::read(wakefd, &v, sizeof v);
        DrainCompletions();
      } else {
        auto it = conns.find(key);
        if (it == conns.end()) continue;
        Conn* c = it->second.get();
        uint32_t e = events[i].events;
        if (e & EPOLLOUT) Flush(c);
        if (conns.count(key) && (e & (EPOLLIN | EPOLLHUP | EPOLLERR))) OnReadable(c, e);
      }
    }
    double now = Now();
    if (now - last_sweep >= 0.1) {
      Sweep(now);
      last_sweep = now;
    }
  }
}

void Server::Worker::Accept(int lfd, bool tcp) {
  for (int k = 0; k < 64; ++k) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN: another worker took it, or nothing left
    Peer peer;
    peer.tcp = tcp;
    if (!tcp) {
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        ::close(fd);
        continue;
      }
      peer.uid = cred.uid;
      peer.gid = cred.gid;
      peer.pid = cred.pid;
    } else {
      // Unknown until a request's credential is checked; never root by default.
      peer.uid = static_cast<uid_t>(-1);
      peer.gid = static_cast<gid_t>(-1);
    }
    std::string refuse;
    if (server->connections_.load() >= server->options_.max_connections) {
      refuse = "egret-quotad has too many connections; try again";
    } else if (!tcp && peer.uid != 0) {
      std::lock_guard<std::mutex> l(server->uid_mu_);
      size_t& cnt = server->uid_counts_[peer.uid];
      if (cnt >= server->options_.max_connections_per_uid)
        refuse = "uid " + std::to_string(peer.uid) + " already has " + std::to_string(cnt) +
                 " connections to egret-quotad (limit " +
                 std::to_string(server->options_.max_connections_per_uid) + ")";
      else
        ++cnt;
    }
    if (!refuse.empty()) {
      refused->Inc();
      std::string frame;
      AppendFrame(FrameKind::kReply, ErrorBody(code::kUnavailable, refuse), &frame);
      (void)!::send(fd, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      ::close(fd);
      continue;
    }
    accepted->Inc();
    server->connections_++;
    auto c = std::make_unique<Conn>();
    c->id = next_id++;
    c->fd = fd;
    c->peer = peer;
    c->last_active = Now();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    c->events = EPOLLIN;
    ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    conns.emplace(c->id, std::move(c));
  }
}

void Server::Worker::OnReadable(Conn* c, uint32_t events) {
  uint64_t id = c->id;
  if (c->awaiting || c->closing || c->eof || c->wbuf.size() > c->woff) {
    // Not reading now (one request in flight, or a reply still being written). A peer that
    // hung up is only noted: the reply in flight will fail to send and close it.
    if (events & (EPOLLHUP | EPOLLERR)) {
      c->eof = true;
      UpdateInterest(c);
    }
    return;
  }
  for (;;) {
    size_t room = kMaxBuffered - c->rbuf.size();
    if (room == 0) break;
    size_t want = std::min(room, kReadChunk);
    ssize_t n = ::recv(c->fd, scratch.get(), want, 0);
    if (n > 0) {
      double now = Now();
      if (c->rbuf.empty()) c->frame_started = now;
      c->rbuf.append(scratch.get(), static_cast<size_t>(n));
      c->last_active = now;
      if (static_cast<size_t>(n) < want) break;
      continue;
    }
    if (n == 0) {
      // The peer sent everything it will: serve the whole requests already here, then close
      // (a trailing partial frame is a truncated message and is dropped).
      c->eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close(c);
    return;
  }
  if (conns.count(id)) ProcessFrames(c);
}

void Server::Worker::ProcessFrames(Conn* c) {
  uint64_t id = c->id;
  size_t off = 0;
  // Replies to pipelined requests answered right away go out in one send at the end.
  bool outer = !in_process;
  in_process = true;
  while (!c->awaiting && !c->closing && c->rbuf.size() - off >= kHeaderSize) {
    FrameHeader h;
    HeaderStatus hs = DecodeHeader(c->rbuf.data() + off, FrameKind::kRequest, kMaxRequestBody, &h);
    if (hs != HeaderStatus::kOk) {
      bad_header->Inc();
      ReplyError(c, code::kBadRequest, DescribeHeaderStatus(hs, h, kMaxRequestBody), true);
      break;
    }
    if (c->rbuf.size() - off < kHeaderSize + h.length) break;
    std::string_view body(c->rbuf.data() + off + kHeaderSize, h.length);
    off += kHeaderSize + h.length;
    Dispatch(c, body);  // may reply synchronously (awaiting is then false again)
    if (!conns.count(id)) {
      if (outer) in_process = false;
      return;
    }
  }
  if (outer) in_process = false;
  if (off > 0) {
    c->rbuf.erase(0, off);
    c->frame_started = c->rbuf.empty() ? 0 : Now();
  }
  if (outer && c->woff < c->wbuf.size()) {
    Flush(c);
    if (!conns.count(id)) return;
  }
  if (c->eof && !c->awaiting) {
    if (c->woff >= c->wbuf.size()) {
      Close(c);
      return;
    }
    c->closing = true;
  }
  UpdateInterest(c);
}

void Server::Worker::Dispatch(Conn* c, std::string_view body) {
  Peer peer = c->peer;
  json request;
  auto parsed = ParseBody(body);
  if (!parsed.ok()) {
    bad_body->Inc();
    ReplyError(c, code::kBadRequest, parsed.error().message(), false);
    return;
  }
  request = std::move(*parsed);
  if (peer.tcp) {
    auto cred = GetString(request, "munge");
    if (!cred) {
      auth_failures->Inc();
      ReplyError(c, code::kForbidden, "requests over TCP must carry a MUNGE credential (\"munge\")", false);
      return;
    }
    auto id = DecodeMungeCredential(*cred);
    if (!id.ok()) {
      auth_failures->Inc();
      ReplyError(c, code::kForbidden, id.error().message(), false);
      return;
    }
    peer.uid = id->uid;
    peer.gid = id->gid;
    auto inner = ParseBody(id->payload);
    if (!inner.ok()) {
      bad_body->Inc();
      ReplyError(c, code::kBadRequest, "credential payload: " + inner.error().message(), false);
      return;
    }
    request = std::move(*inner);
  }
  auto op = GetString(request, "op");
  if (!op) {
    bad_body->Inc();
    ReplyError(c, code::kBadRequest, "request lacks \"op\" (a string)", false);
    return;
  }
  auto lit = latency->find(*op);
  c->latency = lit != latency->end() ? lit->second : (*latency)["other"];
  c->awaiting = true;
  c->dispatched_at = Now();
  ReplyToken token;
  token.server_ = server;
  token.worker_ = index;
  token.conn_id_ = c->id;
  in_dispatch = true;
  server->handler_->Handle(peer, *op, request, token);
  in_dispatch = false;
}

void Server::Worker::OnCompletion(uint64_t id, std::string body) {
  auto it = conns.find(id);
  if (it == conns.end()) return;  // the client went away meanwhile
  Conn* c = it->second.get();
  if (!c->awaiting) return;
  c->awaiting = false;
  if (c->latency) c->latency->Observe(Now() - c->dispatched_at);
  Reply(c, body);
  if (!conns.count(id)) return;
  // Synchronous replies are followed by ProcessFrames' own loop; deferred ones resume here.
  if (!in_dispatch) ProcessFrames(c);
}

void Server::Worker::DrainCompletions() {
  std::vector<std::pair<uint64_t, std::string>> batch;
  {
    std::lock_guard<std::mutex> l(mu);
    batch.swap(completions);
  }
  for (auto& [id, body] : batch) OnCompletion(id, std::move(body));
}

void Server::Worker::Reply(Conn* c, std::string_view body) {
  if (c->woff == c->wbuf.size()) {
    c->wbuf.clear();
    c->woff = 0;
  }
  AppendFrame(FrameKind::kReply, body, &c->wbuf);
  if (!in_process) Flush(c);
}

void Server::Worker::ReplyError(Conn* c, const char* code, const std::string& msg, bool close) {
  if (close) c->closing = true;
  Reply(c, ErrorBody(code, msg));
}

void Server::Worker::Flush(Conn* c) {
  while (c->woff < c->wbuf.size()) {
    ssize_t n = ::send(c->fd, c->wbuf.data() + c->woff, c->wbuf.size() - c->woff,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->woff += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (c->write_started == 0) c->write_started = Now();
      UpdateInterest(c);
      return;
    }
    Close(c);
    return;
  }
  c->wbuf.clear();
  c->woff = 0;
  c->write_started = 0;
  c->last_active = Now();
  if (c->closing) {
    Close(c);
    return;
  }
  UpdateInterest(c);
}

void Server::Worker::UpdateInterest(Conn* c) {
  bool pending_write = c->woff < c->wbuf.size();
  uint32_t want = 0;
  if (pending_write) want |= EPOLLOUT;
  else if (!c->awaiting && !c->closing && !c->eof) want |= EPOLLIN;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c->id;
  if (want == 0 && c->eof) {
    // A hung-up peer reports EPOLLHUP whatever we ask for; leave the set until there is
    // something to write, or the loop would spin.
    if (c->registered) ::epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    c->registered = false;
    c->events = 0;
    return;
  }
  if (!c->registered) {
    ::epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->registered = true;
    c->events = want;
    return;
  }
  if (want == c->events) return;
  ::epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->events = want;
}

void Server::Worker::Close(Conn* c) {
  if (c->registered) ::epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  if (!c->peer.tcp && c->peer.uid != 0) {
    std::lock_guard<std::mutex> l(server->uid_mu_);
    auto it = server->uid_counts_.find(c->peer.uid);
    if (it != server->uid_counts_.end() && --it->second == 0) server->uid_counts_.erase(it);
  }
  server->connections_--;
  conns.erase(c->id);
}

void Server::Worker::Sweep(double now) {
  const ServerOptions& o = server->options_;
  std::vector<Conn*> expired_frames, dead;
  for (auto& [id, c] : conns) {
    if (c->write_started > 0 && now - c->write_started > o.write_timeout_s) dead.push_back(c.get());
    else if (!c->awaiting && !c->closing && !c->rbuf.empty() && now - c->frame_started > o.frame_timeout_s)
      expired_frames.push_back(c.get());
    else if (!c->awaiting && c->rbuf.empty() && c->wbuf.empty() && now - c->last_active > o.idle_timeout_s)
      dead.push_back(c.get());
  }
  for (Conn* c : dead) {
    timeouts->Inc();
    Close(c);
  }
  for (Conn* c : expired_frames) {
    timeouts->Inc();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", o.frame_timeout_s);
    ReplyError(c, code::kBadRequest,
               std::string("incomplete request: not received whole within ") + buf + " s", true);
  }
}

}  // namespace egret::quotad
