#include "tests/plugin/plugin_cluster.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ctime>
#include <regex>

#include "common/strings.h"
#include "scheduler/client/quotad_client.h"

namespace egret::testing {

namespace fs = std::filesystem;

Result<plugin::Config> RunningPluginConfig() {
  std::ifstream in("/etc/slurm/plugstack.conf.d/egret.conf");
  std::string line;
  while (std::getline(in, line)) {
    auto words = Split(std::string(Trim(line)), ' ', /*skip_empty=*/true);
    if (words.size() < 2 || words[0] != "required" || words[1].find("egret.so") == std::string::npos)
      continue;
    return plugin::ParseConfig(std::vector<std::string>(words.begin() + 2, words.end()));
  }
  return Error("egret.so is not in /etc/slurm/plugstack.conf.d/egret.conf");
}

void SeedTenant(const plugin::Config& c, const std::string& tenant) {
  std::string dir = c.tenants_root + "/" + tenant;
  fs::create_directories(dir + "/data");
  fs::create_directories(dir + "/models");
  fs::create_directories(dir + "/checkpoints");
  ::chmod(c.tenants_root.c_str(), 0700);
  ::chmod(dir.c_str(), 0755);
  ::chmod((dir + "/data").c_str(), 0755);
  ::chmod((dir + "/models").c_str(), 0755);
  ::chmod((dir + "/checkpoints").c_str(), 01777);
  std::ofstream(dir + "/data/secret.txt") << tenant << " data\n";
  std::ofstream(dir + "/models/model.txt") << tenant << " model\n";
  std::ofstream(dir + "/checkpoints/adapter.safetensors") << tenant << " adapter\n";
  for (const char* f : {"/data/secret.txt", "/models/model.txt", "/checkpoints/adapter.safetensors"})
    ::chmod((dir + f).c_str(), 0644);
}

Submission Submit(const std::string& user, std::vector<std::string> args, const std::string& script,
                  const std::string& out_path, const std::vector<std::string>& env) {
  args.insert(args.begin(), {"-o", out_path, "-D", fs::path(out_path).parent_path().string()});
  std::vector<std::string> argv = {"sbatch"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions opts;
  opts.stdin_data = script;
  opts.env = env;
  ProcessResult r = RunAs(user, argv, opts);
  Submission s{r.exit_code, r.out, r.err, -1};
  std::smatch m;
  static const std::regex kSubmitted(R"(Submitted batch job (\d+))");
  if (std::regex_search(r.out, m, kSubmitted)) s.job_id = std::stol(m[1]);
  return s;
}

JobRun RunJob(const std::string& user, const std::vector<std::string>& args,
              const std::string& script, double timeout_s, const std::vector<std::string>& env) {
  static int n = 0;
  std::string dir = MakeJobDir("plugin-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
  std::string out = dir + "/out.txt";
  Submission sub = Submit(user, args, script, out, env);
  JobRun run;
  run.job_id = sub.job_id;
  run.submit_err = sub.err;
  if (sub.job_id < 0) return run;
  run.info = WaitForJob(sub.job_id, timeout_s);
  run.output = ReadText(out);
  for (const std::string& l : Split(run.output, '\n', true)) {
    auto eq = l.find('=');
    if (eq != std::string::npos && eq > 0) run.facts[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return run;
}

std::string FirstNode() {
  auto r = RunProcess({"sh", "-c", "sinfo -h -N -o %N | sort | head -1"});
  return r.ok() ? std::string(Trim(r->out)) : "";
}

std::vector<std::string> JobDirsOf(const std::string& dir, long job_id) {
  std::vector<std::string> out;
  std::error_code ec;
  std::string prefix = std::to_string(job_id) + "-";
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().string());
  return out;
}

Result<nlohmann::json> QuotadView(const std::string& view) {
  EGRET_ASSIGN_OR_RETURN(plugin::Config c, RunningPluginConfig());
  EGRET_ASSIGN_OR_RETURN(auto client, quotad::Client::Connect(c.socket, 5));
  EGRET_ASSIGN_OR_RETURN(std::string text, client->Query(view));
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error("egret-quotad's " + view + " view is not JSON: " + text);
  if (j.contains("result")) return j["result"];
  return j;
}

namespace {
bool Fixture(const std::string& what) {
  std::vector<std::string> argv = {SourceDir() + "/tests/fixtures/quotad", what};
  if (what == "start") argv.push_back(BuildDir());
  auto r = RunProcess(argv);
  return r.ok() && r->exit_code == 0;
}
}  // namespace

bool StopQuotad() { return Fixture("stop"); }
bool StartQuotad() { return Fixture("start"); }

int64_t SlurmTime(const std::string& field) {
  std::tm t{};
  if (!strptime(field.c_str(), "%Y-%m-%dT%H:%M:%S", &t)) return -1;
  t.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&t));
}

std::vector<std::string> NodeStates() {
  auto r = RunProcess({"sinfo", "-h", "-N", "-o", "%T"});
  if (!r.ok()) return {};
  return Split(r->out, '\n', true);
}

}  // namespace egret::testing
