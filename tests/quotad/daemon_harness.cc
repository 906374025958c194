#include "tests/quotad/daemon_harness.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/slurm.h"

extern char** environ;

namespace egret::quotad::testing {

std::string QuotadBinary() { return egret::testing::BuildDir() + "/bin/egret-quotad"; }

Daemon::Daemon(const std::string& name, const std::string& config, std::vector<std::string> extra)
    : extra_(std::move(extra)) {
  // Short paths: a Unix socket path must fit in 108 bytes.
  dir_ = "/tmp/egq-" + name + "-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  ::chmod(dir_.c_str(), 0755);
  socket_ = dir_ + "/q.sock";
  config_path_ = dir_ + "/tenants.toml";
  std::ofstream(config_path_) << config;
}

Daemon::~Daemon() {
  if (Alive()) Kill();
  std::filesystem::remove_all(dir_);
}

Status Daemon::Start() {
  std::vector<std::string> args = {QuotadBinary(), "--config", config_path_, "--state-dir", state_dir(),
                                   "--socket", socket_, "--no-slurm", "--foreground"};
  if (std::find(extra_.begin(), extra_.end(), "--metrics") == extra_.end())
    args.insert(args.end(), {"--metrics", "off"});
  args.insert(args.end(), extra_.begin(), extra_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  std::string log_path = dir_ + "/quotad.log";
  posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Error("cannot start " + args[0] + ": " + std::strerror(rc));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Alive()) return Error("egret-quotad exited at start:\n" + log());
    auto r = Call({{"op", "ping"}});
    if (r.ok()) return Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error("egret-quotad did not answer within 15 s:\n" + log());
}

bool Daemon::Alive() const {
  if (pid_ <= 0) return false;
  int status;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

void Daemon::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Status Daemon::Stop() {
  if (pid_ <= 0) return Ok();
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error("egret-quotad did not stop cleanly:\n" + log());
  return Ok();
}

std::string Daemon::log() const { return egret::testing::ReadText(dir_ + "/quotad.log"); }

Result<std::unique_ptr<Connection>> Daemon::Connect(double timeout_s) const {
  return Connection::Open(socket_, timeout_s);
}

Result<nlohmann::json> Daemon::Call(const nlohmann::json& request) const {
  EGRET_ASSIGN_OR_RETURN(auto c, Connect());
  return c->Call(request);
}

std::string AsUser(const std::string& user, const std::function<std::string()>& fn) {
  passwd* pw = ::getpwnam(user.c_str());
  if (!pw) return "no such user " + user;
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) _exit(3);
    std::string out = fn();
    (void)!::write(fds[1], out.data(), out.size());
    _exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed (status " + std::to_string(status) + ")";
  return out;
}

}  // namespace egret::quotad::testing
