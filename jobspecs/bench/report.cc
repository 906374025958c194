#include "jobspecs/bench/report.h"

#include <cstdio>
#include <ctime>

#include "common/fs.h"
#include "common/process.h"
#include "common/strings.h"
#include "jobspecs/format/table.h"

namespace egret::jobspec::bench {

Result<History> ReadHistory(const std::string& path) {
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  History h;
  for (const auto& line : Split(text, '\n', true)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) ++h.bad_lines;
    else h.runs.push_back(std::move(j));
  }
  return h;
}

std::string HistoryTable(const History& h) {
  format::Table t({"FIRED AT", "JOB", "HOST", "WORKLOAD", "RESULT", "STATUS"});
  for (const auto& r : h.runs) {
    std::string value = "-";
    if (r.contains("value") && r["value"].is_number()) {
      char buf[64];
      snprintf(buf, sizeof buf, "%.2f %s", r["value"].get<double>(), r.value("unit", "").c_str());
      value = buf;
    }
    std::string status = r.value("ok", false) ? "ok" : r.value("error", std::string("failed"));
    t.Add({format::LocalTime(r.value("fired_at", int64_t{0})), std::to_string(r.value("job", 0)),
           r.value("host", ""), r.value("workload", ""), value, status});
  }
  std::string out = t.Render();
  if (h.bad_lines) out += "(" + std::to_string(h.bad_lines) + " unreadable line(s) skipped)\n";
  return out;
}

namespace {

// A gnuplot single-quoted string: '' stands for a quote.
std::string GnuplotQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// gnuplot formats time axes in UTC: shift each point by its local UTC offset so the axis
// shows the same wall-clock times as the table.
int64_t LocalAxis(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm lt;
  localtime_r(&tt, &lt);
  return t + lt.tm_gmtoff;
}

}  // namespace

Status PlotTrend(const History& h, const std::string& title, const std::string& png_path) {
  std::string data, failed;
  std::string unit;
  for (const auto& r : h.runs) {
    char buf[96];
    int64_t x = LocalAxis(r.value("fired_at", int64_t{0}));
    if (!r.value("ok", false) || !r.contains("value") || !r["value"].is_number()) {
      snprintf(buf, sizeof buf, "%lld 0\n", static_cast<long long>(x));  // a red cross on the axis
      failed += buf;
      continue;
    }
    snprintf(buf, sizeof buf, "%lld %.6g\n", static_cast<long long>(x), r["value"].get<double>());
    data += buf;
    unit = r.value("unit", "");
  }
  if (data.empty()) return Error("no successful run to plot yet");
  std::string plot = "plot '-' using 1:2 with linespoints lw 2 pt 7";
  if (!failed.empty()) plot += ", '-' using 1:2 with points pt 2 ps 2 lc rgb 'red'";
  std::string script =
      "set terminal pngcairo size 900,450\n"
      "set output " + GnuplotQuote(png_path) + "\n"
      "set title " + GnuplotQuote(title + (failed.empty() ? "" : "  (x: failed runs)")) + " noenhanced\n"
      "set xdata time\nset timefmt '%s'\nset format x \"%m-%d\\n%H:%M:%S\"\n"
      "set lmargin 10\nset rmargin 8\nset bmargin 4\nset yrange [0:*]\n"
      "set ylabel " + GnuplotQuote(unit) + "\nset grid\nset key off\n" + plot + "\n" + data + "e\n" +
      (failed.empty() ? "" : failed + "e\n");
  ProcessOptions po;
  po.stdin_data = script;
  po.timeout_s = 60;
  auto r = RunProcess({"gnuplot"}, po);
  if (!r.ok()) return r.error().context("gnuplot (apt-get install -y gnuplot-nox)");
  if (r->exit_code != 0) return Error("gnuplot failed: " + std::string(Trim(r->err)));
  return Ok();
}

}  // namespace egret::jobspec::bench
