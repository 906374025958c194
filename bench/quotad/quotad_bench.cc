// egret-quotad throughput and latency, with baselines measured in the same run:
//
//   admissions  N clients, each acquiring leases one after another (every reply is sent only
//               after the ledger commit covering it is fsynced): admissions/s, p50, p99.
//   baseline    the same N threads, one SQLite synchronous=FULL transaction per admission
//               through one connection (what a daemon without group commit does).
//   reads       N clients calling get_lease (the SPANK plugin's query) back to back.
//   baseline    a bare echo server on a Unix socket with the same framing: the transport's
//               ceiling on this machine.
//   fdatasync   a bare fdatasync loop on a small append, for reference.
//
// Prints one JSON object.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/client/connection.h"
#include "scheduler/protocol/frame.h"

extern char** environ;

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using egret::quotad::Connection;

const char* kConfig = R"toml(
[global]
admins = ["root"]
[gpu_types]
h100 = 1.0
[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 100000000
[[tenant]]
name = "acme"
members = ["alice"]
allowed_partitions = ["gpu"]
gpu_quota = { gpu = 100000000 }
)toml";

struct Stats {
  double rate = 0, p50_ms = 0, p99_ms = 0;
  long n = 0;
};

Stats Summarise(std::vector<double> lat_s, double seconds) {
  Stats s;
  s.n = static_cast<long>(lat_s.size());
  if (lat_s.empty()) return s;
  std::sort(lat_s.begin(), lat_s.end());
  s.rate = static_cast<double>(lat_s.size()) / seconds;
  s.p50_ms = lat_s[lat_s.size() / 2] * 1e3;
  s.p99_ms = lat_s[std::min(lat_s.size() - 1, lat_s.size() * 99 / 100)] * 1e3;
  return s;
}

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs BODY(thread, stop) on N threads for SECONDS; each returns its latencies.
template <typename F>
Stats RunClients(int n, double seconds, F body) {
  std::vector<std::vector<double>> lat(static_cast<size_t>(n));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] { body(i, stop, &lat[static_cast<size_t>(i)]); });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = Since(t0);
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  return Summarise(std::move(all), elapsed);
}

// CPU seconds (user + system) PID has used so far.
double CpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int RawConnect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends BATCH (N request frames) and reads N reply frames, checking each says "ok":true.
bool RawPipelined(int fd, const std::string& batch, int n, std::string* buf) {
  if (::send(fd, batch.data(), batch.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(batch.size())) return false;
  int got = 0;
  buf->clear();
  size_t off = 0;
  char tmp[65536];
  while (got < n) {
    while (buf->size() - off >= egret::quotad::kHeaderSize) {
      const auto* p = reinterpret_cast<const unsigned char*>(buf->data() + off);
      uint32_t len = (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) | p[11];
      if (buf->size() - off < egret::quotad::kHeaderSize + len) break;
      if (buf->compare(off + egret::quotad::kHeaderSize, 10, "{\"ok\":true") != 0) return false;
      off += egret::quotad::kHeaderSize + len;
      ++got;
    }
    if (got == n) break;
    ssize_t r = ::recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) return false;
    buf->append(tmp, static_cast<size_t>(r));
  }
  return true;
}

pid_t StartDaemon(const std::string& bin, const std::string& dir) {
  std::ofstream(dir + "/tenants.toml") << kConfig;
  std::vector<std::string> args = {bin, "--config", dir + "/tenants.toml", "--state-dir", dir + "/state",
                                   "--socket", dir + "/q.sock", "--metrics", "off", "--no-slurm",
                                   "--foreground", "--lease-timeout", "0"};
  if (const char* t = std::getenv("EGRET_BENCH_IO_THREADS")) args.insert(args.end(), {"--io-threads", t});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  std::string log = dir + "/quotad.log";
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) return -1;
  for (int i = 0; i < 500; ++i) {
    auto c = Connection::Open(dir + "/q.sock", 1);
    if (c.ok() && (*c)->Call({{"op", "ping"}}).ok()) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

Stats SqliteBaseline(const std::string& path, int n, double seconds) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE leases(lease_id INTEGER PRIMARY KEY, job_id INTEGER, tenant TEXT,"
                   " partition TEXT, gpus INTEGER, granted_ms INTEGER)", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO leases(job_id, tenant, partition, gpus, granted_ms) VALUES(?,?,?,?,?)",
                     -1, &ins, nullptr);
  std::mutex mu;
  std::atomic<long> job{1};
  Stats s = RunClients(n, seconds, [&](int, std::atomic<bool>& stop, std::vector<double>* lat) {
    while (!stop) {
      auto t0 = Clock::now();
      {
        std::lock_guard<std::mutex> l(mu);
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        sqlite3_bind_int64(ins, 1, job++);
        sqlite3_bind_text(ins, 2, "acme", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, "gpu", -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 4, 1);
        sqlite3_bind_int64(ins, 5, 0);
        sqlite3_step(ins);
        sqlite3_reset(ins);
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      }
      lat->push_back(Since(t0));
    }
  });
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return s;
}

Stats FdatasyncLoop(const std::string& path, double seconds) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  char rec[128] = {0};
  return RunClients(1, seconds, [&](int, std::atomic<bool>& stop, std::vector<double>* lat) {
    while (!stop) {
      auto t0 = Clock::now();
      (void)!::write(fd, rec, sizeof rec);
      ::fdatasync(fd);
      lat->push_back(Since(t0));
    }
  });
}

// A server that answers every frame with a fixed reply of a lease's size, doing no other work:
// the transport alone. PIPELINED: clients send 16 frames at a time (lean clients, as in the
// pipelined read phase); otherwise the real client library, one request in flight.
Stats EchoBaseline(const std::string& path, int n, double seconds, bool pipelined) {
  int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  ::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(lfd, 64);
  std::string reply;
  egret::quotad::AppendFrame(egret::quotad::FrameKind::kReply,
                             "{\"ok\":true,\"lease\":{\"lease_id\":1,\"job_id\":1,\"tenant\":\"acme\","
                             "\"partition\":\"gpu\",\"gpus\":1,\"weight\":1,\"state\":\"granted\","
                             "\"granted_at\":1795641289.069,\"granted_at_ms\":1795641289069,\"start_at\":null,"
                             "\"heartbeat_at\":1795641289.069,\"time_limit_s\":0,\"charged_units\":0,"
                             "\"open\":true,\"accrued_units\":12.5}}",
                             &reply);
  std::vector<std::thread> servers;
  for (int i = 0; i < n; ++i)
    servers.emplace_back([&] {
      int c = ::accept(lfd, nullptr, nullptr);
      std::string buf, out;
      char tmp[65536];
      for (;;) {
        ssize_t r = ::recv(c, tmp, sizeof tmp, 0);
        if (r <= 0) break;
        buf.append(tmp, static_cast<size_t>(r));
        size_t off = 0;
        out.clear();
        while (buf.size() - off >= egret::quotad::kHeaderSize) {
          const auto* p = reinterpret_cast<const unsigned char*>(buf.data() + off);
          uint32_t len = (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) | p[11];
          if (buf.size() - off < egret::quotad::kHeaderSize + len) break;
          off += egret::quotad::kHeaderSize + len;
          out += reply;
        }
        buf.erase(0, off);
        if (!out.empty()) (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    });
  constexpr int kDepth = 16;
  Stats s = RunClients(n, seconds, [&](int, std::atomic<bool>& stop, std::vector<double>* lat) {
    if (pipelined) {
      int fd = RawConnect(path);
      std::string batch, buf;
      for (int i = 0; i < kDepth; ++i)
        egret::quotad::AppendFrame(egret::quotad::FrameKind::kRequest, R"({"op":"get_lease","job_id":1})", &batch);
      while (!stop) {
        auto t0 = Clock::now();
        if (!RawPipelined(fd, batch, kDepth, &buf)) break;
        double per = Since(t0);
        for (int i = 0; i < kDepth; ++i) lat->push_back(per);
      }
      ::close(fd);
      return;
    }
    auto c = Connection::Open(path, 5);
    if (!c.ok()) return;
    json req = {{"op", "get_lease"}, {"job_id", 1}};
    while (!stop) {
      auto t0 = Clock::now();
      if (!(*c)->Call(req).ok()) return;
      lat->push_back(Since(t0));
    }
  });
  for (auto& t : servers) t.join();
  ::close(lfd);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = argc > 1 ? argv[1] : "egret-quotad";
  int clients = argc > 2 ? std::atoi(argv[2]) : 16;
  double seconds = argc > 3 ? std::atof(argv[3]) : 3.0;
  // On the same file system as a real state dir would be (not tmpfs).
  std::string dir = "/var/tmp/egret-quotad-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ::signal(SIGPIPE, SIG_IGN);

  Stats fsync = FdatasyncLoop(dir + "/fsync.dat", 1.0);
  Stats sqlite = SqliteBaseline(dir + "/baseline.sqlite", clients, seconds);

  pid_t pid = StartDaemon(bin, dir);
  if (pid < 0) {
    std::fprintf(stderr, "quotad_bench: egret-quotad did not start; see %s/quotad.log\n", dir.c_str());
    return 1;
  }
  std::atomic<uint32_t> next_job{1};
  double cpu0 = CpuSeconds(pid);
  Stats adm = RunClients(clients, seconds, [&](int, std::atomic<bool>& stop, std::vector<double>* lat) {
    auto c = Connection::Open(dir + "/q.sock", 5);
    if (!c.ok()) return;
    while (!stop) {
      json req = {{"op", "acquire"}, {"job_id", next_job++}, {"tenant", "acme"}, {"partition", "gpu"}, {"gpus", 1}};
      auto t0 = Clock::now();
      auto r = (*c)->Call(req);
      if (!r.ok() || (*r)["decision"] != "granted") return;
      lat->push_back(Since(t0));
    }
  });
  uint32_t held = next_job.load() - 1;
  double cpu1 = CpuSeconds(pid);
  std::atomic<uint32_t> probe{1};
  Stats reads = RunClients(clients, seconds, [&](int, std::atomic<bool>& stop, std::vector<double>* lat) {
    auto c = Connection::Open(dir + "/q.sock", 5);
    if (!c.ok()) return;
    while (!stop) {
      uint32_t job = 1 + (probe++ % std::max<uint32_t>(1, held));
      json req = {{"op", "get_lease"}, {"job_id", job}};
      auto t0 = Clock::now();
      auto r = (*c)->Call(req);
      if (!r.ok()) return;
      lat->push_back(Since(t0));
    }
  });
  double cpu2 = CpuSeconds(pid);
  // The same queries pipelined, 16 in flight per client (one write, replies read back in
  // order): what the server sustains when callers batch. These clients are lean (requests
  // encoded once, replies framed and checked, not parsed), so the two cores go to the server.
  constexpr int kDepth = 16;
  Stats piped = RunClients(clients, seconds, [&](int t, std::atomic<bool>& stop, std::vector<double>* lat) {
    int fd = RawConnect(dir + "/q.sock");
    if (fd < 0) return;
    std::string batch;
    for (int i = 0; i < kDepth; ++i) {
      uint32_t job = 1 + (static_cast<uint32_t>(t * kDepth + i) * 7919u) % std::max<uint32_t>(1, held);
      egret::quotad::AppendFrame(egret::quotad::FrameKind::kRequest,
                                 json{{"op", "get_lease"}, {"job_id", job}}.dump(), &batch);
    }
    std::string buf;
    while (!stop) {
      auto t0 = Clock::now();
      if (!RawPipelined(fd, batch, kDepth, &buf)) break;
      double per = Since(t0);
      for (int i = 0; i < kDepth; ++i) lat->push_back(per);
    }
    ::close(fd);
  });
  // Releases are durable too; measured for the record.
  std::atomic<uint32_t> rel{1};
  Stats releases = RunClients(clients, std::min(seconds, 2.0), [&](int, std::atomic<bool>& stop, std::vector<double>* lat) {
    auto c = Connection::Open(dir + "/q.sock", 5);
    if (!c.ok()) return;
    while (!stop) {
      uint32_t job = rel++;
      if (job > held) return;
      auto t0 = Clock::now();
      if (!(*c)->Call({{"op", "release"}, {"job_id", job}, {"end_time", 2e9}}).ok()) return;
      lat->push_back(Since(t0));
    }
  });
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  Stats echo = EchoBaseline(dir + "/echo.sock", clients, seconds, false);
  Stats echo_piped = EchoBaseline(dir + "/echo2.sock", clients, seconds, true);
  std::filesystem::remove_all(dir);

  json out = {{"clients", clients},
              {"seconds", seconds},
              {"admissions_per_s", adm.rate},
              {"admission_p50_ms", adm.p50_ms},
              {"admission_p99_ms", adm.p99_ms},
              {"baseline_sqlite_per_txn_per_s", sqlite.rate},
              {"baseline_sqlite_p50_ms", sqlite.p50_ms},
              {"baseline_sqlite_p99_ms", sqlite.p99_ms},
              {"releases_per_s", releases.rate},
              {"release_p99_ms", releases.p99_ms},
              {"reads_per_s", reads.rate},
              {"read_p50_ms", reads.p50_ms},
              {"read_p99_ms", reads.p99_ms},
              {"baseline_echo_per_s", echo.rate},
              {"baseline_echo_pipelined_per_s", echo_piped.rate},
              {"pipelined_reads_per_s", piped.rate},
              {"pipelined_read_batch_p99_ms", piped.p99_ms},
              {"daemon_cpu_us_per_admission", adm.n ? (cpu1 - cpu0) * 1e6 / static_cast<double>(adm.n) : 0.0},
              {"daemon_cpu_us_per_read", reads.n ? (cpu2 - cpu1) * 1e6 / static_cast<double>(reads.n) : 0.0},
              {"fdatasync_per_s", fsync.rate},
              {"fdatasync_p50_ms", fsync.p50_ms}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
