#include "mpi_trainer/train/metrics.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/fs.h"
#include "common/process.h"

namespace egret::train {

Result<MetricsLog> MetricsLog::Open(const std::string& path, int64_t resume_step) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;  // a torn last line
      if (j.contains("step") && j["step"].is_number_integer() && j["step"].get<int64_t>() > resume_step) continue;
      kept += line + "\n";
    }
    EGRET_TRY(WriteFileAtomic(path, kept));
  }
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return Error(path + ": cannot open metrics file: " + std::strerror(errno));
  return MetricsLog(path, f);
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
}

Status MetricsLog::Append(const nlohmann::json& record) {
  std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0)
    return Error(path_ + ": write failed: " + std::strerror(errno));
  return Ok();
}

std::string FormatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[64];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string ProgressLine(int64_t step, int64_t total, double loss, double lr, double tokens_per_s, double eta_s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "step %lld/%lld | loss %.4f | lr %.2e | %.0f tok/s | ETA %s",
                static_cast<long long>(step), static_cast<long long>(total), loss, lr, tokens_per_s,
                FormatDuration(eta_s).c_str());
  return buf;
}

Status PlotLoss(const std::string& metrics_path, const std::string& png_path) {
  std::ifstream in(metrics_path);
  if (!in) return Error(metrics_path + ": cannot read");
  std::ostringstream train, eval;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step")) continue;
    std::string type = j.value("type", "");
    if (type == "train" && j.contains("loss")) train << j["step"] << " " << j["loss"] << "\n";
    if (type == "eval" && j.contains("eval_loss")) eval << j["step"] << " " << j["eval_loss"] << "\n";
  }
  std::string train_dat = png_path + ".train.dat", eval_dat = png_path + ".eval.dat";
  EGRET_TRY(WriteFileAtomic(train_dat, train.str()));
  EGRET_TRY(WriteFileAtomic(eval_dat, eval.str()));
  std::string plot = "plot '" + train_dat + "' using 1:2 with lines title 'train loss'";
  if (!eval.str().empty()) plot += ", '" + eval_dat + "' using 1:2 with linespoints title 'eval loss'";
  std::string script = "set terminal pngcairo size 900,540\nset output '" + png_path +
                       "'\nset xlabel 'step'\nset ylabel 'loss'\nset grid\nset key top right\n" + plot + "\n";
  ProcessOptions po;
  po.stdin_data = script;
  po.timeout_s = 60;
  auto r = RunProcess({"gnuplot"}, po);
  std::filesystem::remove(train_dat);
  std::filesystem::remove(eval_dat);
  if (!r.ok()) return Error("gnuplot not available (" + r.error().message() + "); install gnuplot-nox for loss.png");
  if (r->exit_code == 127) return Error("gnuplot not found; install gnuplot-nox for loss.png");
  if (r->exit_code != 0) return Error("gnuplot failed (exit " + std::to_string(r->exit_code) + "): " + r->err);
  return Ok();
}

}  // namespace egret::train
