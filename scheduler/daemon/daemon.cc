#include "scheduler/daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/fs.h"
#include "scheduler/auth/identity.h"
#include "scheduler/config/config.h"
#include "scheduler/core/charging.h"
#include "scheduler/daemon/engine.h"
#include "scheduler/daemon/log.h"
#include "scheduler/daemon/service.h"
#include "scheduler/ledger/ledger.h"
#include "scheduler/metrics/http_exporter.h"
#include "scheduler/server/server.h"
#include "scheduler/slurm/libslurm_api.h"
#include "scheduler/slurm/queue_manager.h"

namespace egret::quotad {

namespace {

void Log(const std::string& line) { LogLine(line); }

// Exactly one daemon per state dir: two writers of one ledger would each believe its memory.
Result<int> LockStateDir(const std::string& dir) {
  std::string path = dir + "/quotad.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    (void)!::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    return Error("another egret-quotad (pid " + std::string(buf) + ") is using the state dir " + dir);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  (void)!::ftruncate(fd, 0);
  (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return fd;
}

Status MakeDirs(const std::string& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), mode);
  return Ok();
}

std::string Pick(const std::string& flag, const std::string& from_config) {
  return flag.empty() ? from_config : flag;
}

// The file job_submit.lua reads: one managed partition per line.
Status WriteManagedPartitions(const std::string& path, const config::Config& c) {
  std::string text = "# Written by egret-quotad from " + c.source + ": partitions whose jobs it admits.\n";
  for (const auto& p : c.partitions)
    if (p.managed) text += p.name + "\n";
  return WriteFileAtomic(path, text, 0644);
}

}  // namespace

int ParseSignal(const std::string& name) {
  static const std::pair<const char*, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
      {"STOP", SIGSTOP}, {"URG", SIGURG},   {"XCPU", SIGXCPU}};
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  for (const auto& [k, v] : kSignals)
    if (n == k) return v;
  char* end = nullptr;
  long v = std::strtol(n.c_str(), &end, 10);
  if (!n.empty() && *end == '\0' && v > 0 && v < 65) return static_cast<int>(v);
  return -1;
}

int RunDaemon(const DaemonOptions& options) {
  // Paths are made absolute first: a daemonized process runs in /.
  DaemonOptions o = options;
  auto absolute = [](std::string* p) {
    if (!p->empty() && (*p)[0] != '/' && *p != "off") *p = std::filesystem::absolute(*p).string();
  };
  for (std::string* p : {&o.config_path, &o.state_dir, &o.socket, &o.audit_log, &o.pid_file, &o.log_file,
                         &o.managed_partitions_file})
    absolute(p);
  auto loaded = config::LoadConfig(o.config_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "egret-quotad: %s\n", loaded.error().message().c_str());
    return 1;
  }
  auto cfg = std::make_shared<const config::Config>(std::move(*loaded));
  if (!o.managed_partitions_file.empty()) {
    if (auto w = WriteManagedPartitions(o.managed_partitions_file, *cfg); !w.ok()) {
      std::fprintf(stderr, "egret-quotad: %s\n", w.error().message().c_str());
      return 1;
    }
  }
  const config::DaemonSettings& ds = cfg->daemon;
  std::string state_dir = Pick(o.state_dir, ds.state_dir);
  std::string socket = Pick(o.socket, ds.socket);
  std::string metrics_addr = Pick(o.metrics, ds.metrics_address);
  std::string tcp = Pick(o.tcp, ds.tcp_address);
  if (metrics_addr == "off") metrics_addr.clear();
  if (tcp == "off") tcp.clear();
  double lease_timeout = o.lease_timeout_s >= 0 ? o.lease_timeout_s : ds.lease_timeout_s;
  double poll = o.poll_interval_s > 0 ? o.poll_interval_s : ds.poll_interval_s;
  double grace = o.preempt_grace_s >= 0 ? o.preempt_grace_s : ds.preempt_grace_s;
  int preempt_signal = ParseSignal(o.preempt_signal);
  if (preempt_signal < 0) {
    std::fprintf(stderr, "egret-quotad: --preempt-signal '%s' is not a signal (e.g. USR1, TERM, 10)\n",
                 o.preempt_signal.c_str());
    return 2;
  }

  if (auto s = MakeDirs(state_dir, 0700); !s.ok()) {
    std::fprintf(stderr, "egret-quotad: %s\n", s.error().message().c_str());
    return 1;
  }
  if (auto s = MakeDirs(std::filesystem::path(socket).parent_path().string(), 0755); !s.ok()) {
    std::fprintf(stderr, "egret-quotad: %s\n", s.error().message().c_str());
    return 1;
  }
  // Locked before daemonizing, so a second daemon is refused on the terminal; the lock
  // belongs to the open file, which the daemonized child keeps.
  auto lock = LockStateDir(state_dir);
  if (!lock.ok()) {
    Log(lock.error().message());
    return 1;
  }
  if (!o.foreground) {
    std::string log = o.log_file.empty() ? state_dir + "/quotad.log" : o.log_file;
    if (::daemon(0, 0) != 0) {
      std::perror("egret-quotad: daemon");
      return 1;
    }
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd >= 0) {
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    (void)!::ftruncate(*lock, 0);
    (void)!::pwrite(*lock, pid.data(), pid.size(), 0);
  }
  if (!o.pid_file.empty()) (void)WriteFileAtomic(o.pid_file, std::to_string(::getpid()) + "\n");

  // Signals are taken synchronously by the main thread; every thread started below
  // inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::string ledger_path = state_dir + "/ledger.sqlite";
  auto ledger = Ledger::Open(ledger_path);
  if (!ledger.ok()) {
    Log(ledger.error().message());
    return 1;
  }
  auto snap = (*ledger)->Load();
  if (!snap.ok()) {
    Log(snap.error().message());
    return 1;
  }
  std::unique_ptr<AuditLog> audit;
  std::string audit_path = o.audit_log.empty() ? state_dir + "/audit.jsonl" : o.audit_log;
  if (audit_path != "off") {
    auto a = AuditLog::Open(audit_path);
    if (!a.ok()) {
      Log(a.error().message());
      return 1;
    }
    audit = std::move(*a);
  } else {
    auto a = AuditLog::Open("/dev/null");
    audit = std::move(*a);
  }
  Log("ledger " + ledger_path + ": " + std::to_string(snap->open.size()) + " open leases, " +
      std::to_string(snap->flagged.size()) + " awaiting reconciliation");

  metrics::Registry registry;
  std::atomic<bool> fatal{false};
  Engine engine(cfg, std::move(*ledger), *snap, audit.get(), &registry, SystemClockMs,
                [&](const Error& e) {
                  Log("FATAL: the ledger cannot be written, stopping: " + e.message());
                  fatal = true;
                  ::kill(::getpid(), SIGTERM);
                });

  std::string config_path = o.config_path;
  ServiceOptions so;
  so.lease_uids.push_back(0);
  if (!o.slurm_user.empty()) {
    long uid = UidOf(o.slurm_user);
    if (uid >= 0) so.lease_uids.push_back(static_cast<uid_t>(uid));
  }
  std::mutex reload_mu;
  so.reload = [&]() -> Status {
    std::lock_guard<std::mutex> l(reload_mu);
    auto next = config::LoadConfig(config_path);
    if (!next.ok()) {
      Log("reload of " + config_path + " failed, keeping the old config:\n" + next.error().message());
      audit->Record("reload_failed", {{"file", config_path}, {"error", next.error().message()}},
                    Seconds(engine.NowMs()));
      return next.error();
    }
    auto fresh = std::make_shared<const config::Config>(std::move(*next));
    if (!o.managed_partitions_file.empty()) {
      if (auto w = WriteManagedPartitions(o.managed_partitions_file, *fresh); !w.ok())
        Log("reloaded, but " + w.error().message());
    }
    engine.Reload(fresh);
    Log("reloaded " + config_path);
    audit->Record("reload", {{"file", config_path}}, Seconds(engine.NowMs()));
    return Ok();
  };
  Service service(&engine, so);

  ServerOptions srv;
  srv.unix_path = socket;
  srv.tcp_address = tcp;
  srv.io_threads = o.io_threads;
  srv.frame_timeout_s = o.request_timeout_s;
  srv.idle_timeout_s = o.idle_timeout_s;
  srv.max_connections_per_uid = o.max_connections_per_uid;
  auto server = Server::Start(srv, &service, &registry);
  if (!server.ok()) {
    Log(server.error().message());
    return 1;
  }
  std::unique_ptr<metrics::HttpExporter> exporter;
  if (!metrics_addr.empty()) {
    auto e = metrics::HttpExporter::Start(metrics_addr, [&] { return registry.Render(); });
    if (!e.ok()) {
      Log(e.error().message());
      return 1;
    }
    exporter = std::move(*e);
  }
  std::unique_ptr<SlurmApi> slurm;
  std::unique_ptr<QueueManager> qm;
  if (o.slurm) {
    slurm = MakeLibSlurmApi();
    QueueManagerOptions qo;
    qo.poll_interval_s = poll;
    qo.preempt_grace_s = grace;
    qo.default_signal = preempt_signal;
    qm = std::make_unique<QueueManager>(&engine, slurm.get(), qo);
    qm->Start();
  }
  Log("listening on " + socket + (tcp.empty() ? "" : ", tcp " + tcp + " (port " + std::to_string((*server)->tcp_port()) + ")") +
      (exporter ? ", metrics on " + metrics_addr + " (port " + std::to_string(exporter->port()) + ")" : "") +
      (o.slurm ? ", managing Slurm jobs" : ", without Slurm"));

  // The main thread: signals, lease expiry, audit flushing.
  int rc = 0;
  for (;;) {
    timespec ts{0, 200'000'000};
    int sig = ::sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGHUP) {
      (void)so.reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      rc = fatal ? 1 : 0;
      break;
    }
    if (lease_timeout > 0) {
      int64_t now = engine.NowMs();
      auto expired = engine.Mutate(
          [&](QuotaState& s, std::vector<LedgerOp>* ops) {
            return s.ExpireStale(now, Millis(lease_timeout), ops);
          },
          {});
      for (const LeaseRecord& l : expired) {
        Log("lease of job " + std::to_string(l.job_id) + " expired (no heartbeat for " +
            std::to_string(static_cast<int>(lease_timeout)) + " s); closed at its last heartbeat, awaiting reconciliation");
        audit->Record("expire", {{"job_id", l.job_id}, {"tenant", l.tenant},
                                 {"closed_at", Seconds(l.closed_ms)}, {"charged_units", l.charged_units}},
                      Seconds(now));
        engine.Count("expired");
      }
    }
    audit->Flush();
  }
  Log("stopping");
  if (qm) qm->Stop();
  server->reset();
  exporter.reset();
  (void)engine.Flush();
  audit->Flush();
  if (!o.pid_file.empty()) ::unlink(o.pid_file.c_str());
  return rc;
}

}  // namespace egret::quotad
