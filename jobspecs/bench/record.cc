#include "jobspecs/bench/record.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "jobspecs/bench/layout.h"
#include "jobspecs/trainer/trainer_config.h"

namespace egret::jobspec::bench {

nlohmann::json ComposeResult(const RunFacts& f, const std::string& raw) {
  std::string tenant, name;
  ParseScheduleJobName(f.schedule_job_name, &tenant, &name);
  nlohmann::json j = {{"schedule", tenant + ":" + name},
                      {"tenant", tenant},
                      {"name", name},
                      {"job", f.job},
                      {"host", f.host},
                      {"fired_at", f.fired_at ? f.fired_at : f.started_at},
                      {"started_at", f.started_at},
                      {"finished_at", f.finished_at},
                      {"workload", f.workload},
                      {"exit_code", f.exit_code}};
  std::vector<nlohmann::json> lines;
  for (const auto& l : Split(raw, '\n', true)) {
    auto v = nlohmann::json::parse(l, nullptr, false);
    if (!v.is_discarded() && v.is_object()) lines.push_back(v);
  }
  bool have = false;
  if (f.workload == "gemm") {
    double sum = 0;
    nlohmann::json per_rank = nlohmann::json::array();
    for (const auto& v : lines) {
      if (!v.contains("gflops") || !v["gflops"].is_number()) continue;
      sum += v["gflops"].get<double>();
      per_rank.push_back(v["gflops"]);
      have = true;
    }
    if (have) {
      j["metric"] = "gflops";
      j["value"] = sum;
      j["unit"] = "GFLOP/s";
      j["ranks"] = per_rank.size();
      j["per_rank"] = per_rank;
      if (lines[0].contains("size")) j["size"] = lines[0]["size"];
    }
  } else {
    // The median step throughput, leaving out the first step (start-up) when there are more.
    std::vector<double> tps;
    for (const auto& v : lines)
      if (v.value(trainer::kTypeKey, "") == "train" && v.contains(trainer::kThroughputKey) &&
          v[trainer::kThroughputKey].is_number())
        tps.push_back(v[trainer::kThroughputKey].get<double>());
    if (tps.size() > 1) tps.erase(tps.begin());
    if (!tps.empty()) {
      std::vector<double> sorted = tps;
      std::sort(sorted.begin(), sorted.end());
      j["metric"] = "tokens_per_s";
      j["value"] = sorted[sorted.size() / 2];
      j["unit"] = "tokens/s";
      j["steps"] = tps.size();
      have = true;
    }
  }
  j["ok"] = f.exit_code == 0 && have;
  if (!have) j["error"] = f.exit_code != 0 ? "the benchmark exited with " + std::to_string(f.exit_code)
                                          : std::string("the benchmark printed no result");
  return j;
}

Status AppendLine(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Error(path + ": cannot open for append: " + std::strerror(errno));
  std::string data = line + "\n";
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = errno;
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (n != static_cast<ssize_t>(data.size()))
    return Error(path + ": short append: " + std::strerror(err));
  if (!synced) return Error(path + ": fsync failed: " + std::strerror(errno));
  return Ok();
}

}  // namespace egret::jobspec::bench
