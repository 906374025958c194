#include "tests/support/slurm.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/strings.h"

namespace egret::testing {

std::string SourceDir() { return EGRET_SOURCE_DIR; }
std::string BuildDir() { return EGRET_BUILD_DIR; }

std::string ClusterDir() {
  const char* d = std::getenv("EGRET_CLUSTER_DIR");
  return d && *d ? d : "/var/lib/egret-cluster";
}

std::string MakeJobDir(const std::string& name) {
  std::string dir = ClusterDir() + "/jobs/test-" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 01777);
  return dir;
}

ProcessResult RunAs(const std::string& user, const std::vector<std::string>& argv,
                    ProcessOptions options) {
  std::vector<std::string> full;
  if (user != "root") full = {"runuser", "-u", user, "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  if (!options.timeout_s) options.timeout_s = 120;
  auto r = RunProcess(full, options);
  if (!r.ok()) return ProcessResult{-1, false, "", r.error().message()};
  return *r;
}

namespace {

Submission Sbatch(const std::string& user, const std::vector<std::string>& args,
                  const std::string& script, std::vector<std::string> env) {
  std::vector<std::string> argv = {"sbatch"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions opts;
  opts.stdin_data = script;
  opts.env = std::move(env);
  ProcessResult r = RunAs(user, argv, opts);
  Submission s{r.exit_code, r.out, r.err, -1};
  std::smatch m;
  static const std::regex kSubmitted(R"(Submitted batch job (\d+))");
  if (std::regex_search(r.out, m, kSubmitted)) s.job_id = std::stol(m[1]);
  return s;
}

// A copy of /etc/slurm whose slurm.conf points PlugStackConfig at an empty file.
std::string ConfigWithoutSpank() {
  namespace fs = std::filesystem;
  std::string dir = ClusterDir() + "/etc-nospank";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator("/etc/slurm"))
    if (e.is_regular_file())
      fs::copy_file(e.path(), dir + "/" + e.path().filename().string(),
                    fs::copy_options::overwrite_existing);
  std::ofstream(dir + "/plugstack.conf", std::ios::trunc) << "# no SPANK plugins\n";
  std::string conf = ReadText(dir + "/slurm.conf");
  std::ofstream out(dir + "/slurm.conf", std::ios::trunc);
  for (const auto& line : Split(conf, '\n'))
    out << (line.rfind("PlugStackConfig=", 0) == 0 ? "PlugStackConfig=" + dir + "/plugstack.conf" : line)
        << "\n";
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  return dir + "/slurm.conf";
}

}  // namespace

Submission SbatchAs(const std::string& user, const std::vector<std::string>& args,
                    const std::string& script) {
  return Sbatch(user, args, script, {});
}

Submission SbatchWithoutSpankAs(const std::string& user, const std::vector<std::string>& args,
                                const std::string& script) {
  return Sbatch(user, args, script, {"SLURM_CONF=" + ConfigWithoutSpank()});
}

std::optional<JobInfo> GetJob(long job_id) {
  auto r = RunProcess({"scontrol", "show", "job", "-o", std::to_string(job_id)});
  if (!r.ok() || r->exit_code != 0) return std::nullopt;
  JobInfo info;
  // Values never contain spaces except Command/WorkDir/Comment-like fields at the end;
  // split on " Key=" boundaries.
  static const std::regex kField(R"((?:^|\s)([A-Za-z:/]+)=(\S*))");
  std::string line(Trim(r->out));
  for (auto it = std::sregex_iterator(line.begin(), line.end(), kField); it != std::sregex_iterator();
       ++it)
    info.fields[(*it)[1]] = (*it)[2];
  info.state = info.fields["JobState"];
  info.reason = info.fields["Reason"];
  auto ec = Split(info.fields["ExitCode"], ':');
  if (ec.size() == 2) {
    info.exit_code = std::atoi(ec[0].c_str());
    info.exit_signal = std::atoi(ec[1].c_str());
  }
  return info;
}

namespace {
bool IsTerminal(const std::string& s) {
  return s == "COMPLETED" || s == "FAILED" || s == "CANCELLED" || s == "TIMEOUT" ||
         s == "NODE_FAIL" || s == "OUT_OF_MEMORY" || s == "BOOT_FAIL" || s == "DEADLINE" ||
         s == "PREEMPTED";
}
}  // namespace

bool WaitUntil(long job_id, bool (*pred)(const JobInfo&), double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = GetJob(job_id);
    if (info && pred(*info)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

bool Eventually(const std::function<bool()>& pred, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return pred();
}

JobInfo WaitForJob(long job_id, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  JobInfo last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = GetJob(job_id);
    if (info) {
      last = *info;
      if (IsTerminal(last.state)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace egret::testing
