#include "jobspecs/bench/layout.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace egret::jobspec::bench {

namespace {
constexpr const char* kPrefix = "egret-bench:";
}

std::string ScheduleJobName(const std::string& tenant, const std::string& name) {
  return kPrefix + tenant + ":" + name;
}

bool ParseScheduleJobName(const std::string& job_name, std::string* tenant, std::string* name) {
  if (job_name.rfind(kPrefix, 0) != 0) return false;
  std::string rest = job_name.substr(std::string(kPrefix).size());
  auto colon = rest.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return false;
  *tenant = rest.substr(0, colon);
  *name = rest.substr(colon + 1);
  return true;
}

std::string LinkScriptPath(const std::string& dir) { return dir + "/link.sbatch"; }
std::string CancelMarkerPath(const std::string& dir) { return dir + "/cancelled"; }
std::string ResultsCopyPath(const std::string& dir) { return dir + "/results.jsonl"; }
std::string ScheduleFilePath(const std::string& dir) { return dir + "/schedule.json"; }

Result<cron::Schedule> ScheduleFile::Parsed() const {
  return interval ? cron::ParseInterval(schedule) : cron::ParseCron(schedule);
}

Status WriteScheduleFile(const std::string& dir, const ScheduleFile& f) {
  nlohmann::json j = {{"tenant", f.tenant},     {"name", f.name},         {"schedule", f.schedule},
                      {"interval", f.interval}, {"workload", f.workload}, {"source", f.source}};
  return WriteFileAtomic(ScheduleFilePath(dir), j.dump(2) + "\n");
}

Result<ScheduleFile> ReadScheduleFile(const std::string& dir) {
  auto text = ReadFile(ScheduleFilePath(dir));
  if (!text.ok()) return text.error();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ScheduleFilePath(dir) + ": not valid JSON; resubmit the benchmark jobspec");
  ScheduleFile f;
  f.tenant = j.value("tenant", "");
  f.name = j.value("name", "");
  f.schedule = j.value("schedule", "");
  f.interval = j.value("interval", false);
  f.workload = j.value("workload", "");
  f.source = j.value("source", "");
  return f;
}

std::string ScheduleIndexDir() {
  const char* state = std::getenv("XDG_STATE_HOME");
  std::string base = state && *state ? state : std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") + "/.local/state";
  return base + "/egret/schedules";
}

Status RecordScheduleDir(const std::string& tenant, const std::string& name, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(ScheduleIndexDir(), ec);
  if (ec) return Error("cannot create " + ScheduleIndexDir() + ": " + ec.message());
  std::string link = ScheduleIndexDir() + "/" + tenant + ":" + name;
  std::string tmp = link + ".tmp";
  fs::remove(tmp, ec);
  fs::create_symlink(dir, tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec) return Error("cannot record the schedule in " + link + ": " + ec.message());
  return Ok();
}

std::vector<IndexedSchedule> IndexedSchedules() {
  namespace fs = std::filesystem;
  std::vector<IndexedSchedule> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ScheduleIndexDir(), ec)) {
    std::string key = e.path().filename().string();
    auto colon = key.find(':');
    if (colon == std::string::npos || !e.is_symlink()) continue;
    auto target = fs::read_symlink(e.path(), ec);
    if (ec) continue;
    out.push_back({key.substr(0, colon), key.substr(colon + 1), target.string()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.tenant != b.tenant ? a.tenant < b.tenant : a.name < b.name;
  });
  return out;
}

Result<IndexedSchedule> FindIndexedSchedule(const std::string& query) {
  std::vector<IndexedSchedule> found;
  for (const auto& s : IndexedSchedules())
    if (query == s.name || query == s.tenant + ":" + s.name) found.push_back(s);
  if (found.size() == 1) return found[0];
  if (found.empty())
    return Error("no schedule \"" + query + "\" submitted from this account (" + ScheduleIndexDir() +
                 "); give its directory with --dir");
  std::string names;
  for (const auto& s : found) names += (names.empty() ? "" : ", ") + s.tenant + ":" + s.name;
  return Error("\"" + query + "\" names several schedules (" + names + "); give tenant:name");
}

std::string BeginTime(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm lt;
  localtime_r(&t, &lt);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &lt);
  return buf;
}

}  // namespace egret::jobspec::bench
