#include "jobspecs/status/status.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "common/fs.h"
#include "common/strings.h"
#include "jobspecs/format/table.h"
#include "jobspecs/trainer/trainer_config.h"
#include "jobspecs/trainer/training_keys.h"

namespace egret::jobspec::status {
namespace {

std::string Tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes) ? size - static_cast<std::streamoff>(max_bytes) : 0;
  in.seekg(start);
  std::string s(static_cast<size_t>(size - start), '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  if (start > 0) s = s.substr(std::min(s.size(), s.find('\n') + 1));  // drop the cut line
  return s;
}

std::optional<double> Num(const nlohmann::json& j, const char* key) {
  if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

// The configured step count, from the job.toml the job copied into its status directory.
int64_t TotalFromConfig(const std::string& dir) {
  const trainer::TrainingKey* k = trainer::FindTrainingKey("steps");
  if (!k) return -1;
  try {
    toml::table t = toml::parse_file(dir + "/job.toml");
    if (auto v = t.at_path(k->trainer_key).value<int64_t>()) return *v;
  } catch (const toml::parse_error&) {
  }
  return -1;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void Flatten(const nlohmann::json& j, const std::string& prefix, int depth,
             std::vector<std::pair<std::string, double>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_number()) out.emplace_back(key, it->get<double>());
    else if (it->is_object() && depth < 2) Flatten(*it, key, depth + 1, out);
  }
}

}  // namespace

std::string StatusDirOf(const slurm::Job& job) {
  const std::string& out = job.std_out;
  if (out.size() < 5 || out.compare(out.size() - 4, 4, ".out") != 0 || out.find('%') != std::string::npos)
    return "";
  return out.substr(0, out.size() - 4);
}

Progress ParseProgress(const std::string& text, int64_t total_from_config) {
  Progress p;
  p.total = total_from_config;
  for (const auto& line : Split(text, '\n', true)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // e.g. the line being written
    std::string type = j.value(trainer::kTypeKey, "");
    if (auto t = Num(j, trainer::kTotalStepsKey)) p.total = static_cast<int64_t>(*t);
    if (j.contains(trainer::kStepKey) && j[trainer::kStepKey].is_number_integer()) {
      p.have = true;
      p.step = j[trainer::kStepKey].get<int64_t>();
    }
    if (type == "train") {
      p.loss = Num(j, trainer::kLossKey);
      p.lr = Num(j, trainer::kLrKey);
      p.tokens_per_s = Num(j, trainer::kThroughputKey);
    } else if (type == "eval") {
      nlohmann::json e = j;
      e.erase(trainer::kTypeKey);
      p.last_eval = e;
    } else if (type == "end") {
      p.end_status = j.value("status", "");
    }
  }
  return p;
}

JobStatus Collect(const slurm::Job& job, QuotaReasons* reasons) {
  JobStatus s;
  s.job = job;
  s.status_dir = StatusDirOf(job);
  struct stat st;
  if (!s.status_dir.empty() && ::stat(s.status_dir.c_str(), &st) != 0) s.status_dir.clear();
  if (!s.status_dir.empty()) {
    s.progress = ParseProgress(Tail(s.status_dir + "/" + trainer::kMetricsFile, 64 * 1024),
                               TotalFromConfig(s.status_dir));
    auto eval = ReadFile(s.status_dir + "/" + trainer::kEvalFile);
    if (eval.ok()) {
      auto j = nlohmann::json::parse(*eval, nullptr, false);
      if (!j.is_discarded()) s.eval = j;
    }
  }
  if (!s.eval && s.progress.last_eval) s.eval = s.progress.last_eval;
  if (reasons && job.array_tasks.empty()) s.quota = reasons->Why(job.id);
  if (s.quota.empty() && !job.comment.empty()) {
    s.quota = job.comment;
    if (s.quota.rfind("egret: ", 0) == 0) s.quota = s.quota.substr(7);
  }
  return s;
}

std::string EvalSummary(const nlohmann::json& eval, size_t max_items) {
  std::vector<std::pair<std::string, double>> items;
  if (eval.is_object()) Flatten(eval, "", 0, items);
  // egret-train's headline figures first, then the rest in key order.
  static const std::vector<std::string> kFirst = {"eval_loss", "perplexity", "exact_match"};
  auto rank = [](const std::string& k) {
    auto it = std::find(kFirst.begin(), kFirst.end(), k);
    return it == kFirst.end() ? kFirst.size() : static_cast<size_t>(it - kFirst.begin());
  };
  std::stable_sort(items.begin(), items.end(), [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  items.erase(std::remove_if(items.begin(), items.end(), [](const auto& i) { return i.first == "step"; }), items.end());
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.4g", items[i].second);
    out += (i ? " " : "") + items[i].first + "=" + buf;
  }
  if (items.size() > max_items) out += " ...";
  return out;
}

namespace {

std::string ProgressText(const Progress& p) {
  if (!p.have) return "-";
  std::string s = std::to_string(p.step);
  if (p.total > 0) s += "/" + std::to_string(p.total);
  return s;
}

// In the table: why a job waits or what it holds; a finished job's lease history is in
// its details.
std::string ReasonText(const JobStatus& s) {
  if (!s.quota.empty() && s.job.IsActive()) return s.quota;
  if (s.job.IsPending() && s.job.reason != "None") return s.job.reason;
  return "";
}

}  // namespace

std::string RenderTable(const std::vector<JobStatus>& jobs) {
  format::Table t({"JOBID", "NAME", "TENANT", "STATE", "PROGRESS", "LOSS", "TOK/S", "EVAL", "REASON"});
  for (const auto& s : jobs) {
    const Progress& p = s.progress;
    t.Add({s.job.DisplayId(), s.job.name, s.job.account, s.job.state, ProgressText(p),
           p.loss ? Fixed(*p.loss, 4) : "-", p.tokens_per_s ? Fixed(*p.tokens_per_s, 0) : "-",
           s.eval ? EvalSummary(*s.eval, 2) : "-", ReasonText(s)});
  }
  return t.Render();
}

std::string RenderDetail(const JobStatus& s) {
  const slurm::Job& j = s.job;
  std::ostringstream o;
  o << "job " << j.DisplayId() << "  " << j.name << "\n";
  o << "  state:      " << j.state;
  if (j.state == "FAILED" || j.state == "COMPLETED") o << " (exit " << j.exit_code << ")";
  if (j.restarts) o << ", requeued " << j.restarts << "x";
  o << "\n";
  o << "  tenant:     " << j.account << "   partition: " << j.partition << "   user: " << j.user << "\n";
  if (!j.nodes.empty()) o << "  nodes:      " << j.nodes << "\n";
  o << "  submitted:  " << format::LocalTime(j.submit_time) << "\n";
  if (j.IsPending()) {
    o << "  slurm:      " << j.reason;
    if (j.reason == "BeginTime") o << " (begins " << format::LocalTime(j.eligible_time) << ")";
    o << "\n";
  } else if (j.start_time) {
    o << "  started:    " << format::LocalTime(j.start_time) << "\n";
  }
  if (!s.quota.empty()) o << "  quota:      " << s.quota << "\n";
  const Progress& p = s.progress;
  if (p.have) {
    o << "  progress:   step " << ProgressText(p);
    if (p.total > 0) o << " (" << Fixed(100.0 * static_cast<double>(p.step) / static_cast<double>(p.total), 1) << "%)";
    if (p.loss) o << "  loss " << Fixed(*p.loss, 4);
    if (p.tokens_per_s) o << "  " << Fixed(*p.tokens_per_s, 0) << " tok/s";
    if (p.lr) {
      char buf[32];
      snprintf(buf, sizeof buf, "%.3g", *p.lr);
      o << "  lr " << buf;
    }
    o << "\n";
  }
  if (s.eval) {
    o << "  eval";
    if (s.eval->contains("step") && (*s.eval)["step"].is_number()) o << " (at step " << (*s.eval)["step"] << ")";
    o << ":\n";
    std::vector<std::pair<std::string, double>> items;
    Flatten(*s.eval, "", 0, items);
    for (const auto& [k, v] : items) {
      if (k == "step") continue;
      char buf[64];
      snprintf(buf, sizeof buf, "%.6g", v);
      o << "    " << k << " = " << buf << "\n";
    }
  }
  if (!j.std_out.empty()) o << "  log:        " << j.std_out << "\n";
  if (!s.status_dir.empty()) o << "  files:      " << s.status_dir << "/\n";
  return o.str();
}

nlohmann::json ToJson(const JobStatus& s) {
  const slurm::Job& j = s.job;
  nlohmann::json out = {{"job_id", j.DisplayId()}, {"name", j.name},          {"tenant", j.account},
                        {"user", j.user},           {"partition", j.partition}, {"state", j.state},
                        {"slurm_reason", j.reason}, {"quota_reason", s.quota},  {"exit_code", j.exit_code},
                        {"submit_time", j.submit_time}, {"start_time", j.start_time},
                        {"eligible_time", j.eligible_time}, {"restarts", j.restarts},
                        {"log", j.std_out},         {"status_dir", s.status_dir}};
  if (s.progress.have) {
    nlohmann::json p = {{"step", s.progress.step}};
    if (s.progress.total > 0) p["total"] = s.progress.total;
    if (s.progress.loss) p["loss"] = *s.progress.loss;
    if (s.progress.tokens_per_s) p["tokens_per_s"] = *s.progress.tokens_per_s;
    if (s.progress.lr) p["lr"] = *s.progress.lr;
    out["progress"] = p;
  }
  if (s.eval) out["eval"] = *s.eval;
  return out;
}

}  // namespace egret::jobspec::status
