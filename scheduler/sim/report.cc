#include "scheduler/sim/report.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace egret::sim {
namespace {

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string Pad(const std::string& s, size_t w, bool left = false) {
  if (s.size() >= w) return s;
  return left ? s + std::string(w - s.size(), ' ') : std::string(w - s.size(), ' ') + s;
}

std::string Row(const std::vector<std::string>& cells, const std::vector<size_t>& widths) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) out += Pad(cells[i], widths[i], i == 0) + (i + 1 < cells.size() ? "  " : "");
  return out + "\n";
}

std::string Hours(double s) { return Fmt("%.2f", s / 3600.0); }

}  // namespace

std::string SummaryTable(const std::vector<PolicyRun>& runs) {
  std::vector<size_t> w = {12, 6, 9, 6, 9, 9, 8, 9, 8, 8, 7, 6};
  std::string out = Row({"policy", "util", "util-cont", "jain", "wait-p50h", "wait-p95h", "bsld-p95",
                         "shortfall", "fitwaitm", "preempt", "lost%", "never"},
                        w);
  for (const PolicyRun& r : runs) {
    const Metrics& m = r.metrics;
    out += Row({m.policy, Fmt("%.3f", m.utilisation), Fmt("%.3f", m.utilisation_contended),
                Fmt("%.3f", m.jain), Hours(m.wait_p50_s), Hours(m.wait_p95_s), Fmt("%.1f", m.bsld_p95),
                Fmt("%.1f%%", 100 * m.max_shortfall), Fmt("%.1f", m.max_fit_wait_s / 60.0),
                std::to_string(m.preemptions), Fmt("%.2f", 100 * m.lost_fraction),
                std::to_string(m.never_completed)},
               w);
  }
  return out;
}

std::string TenantTable(const PolicyRun& run) {
  std::vector<size_t> w = {12, 6, 6, 9, 9, 8, 9, 9, 9};
  std::string out = "[" + run.metrics.policy + "]\n" +
                    Row({"tenant", "share", "jobs", "wait-p50h", "wait-p95h", "bsld-p95", "entitled",
                         "received", "shortfall"},
                        w);
  for (const TenantMetrics& t : run.metrics.tenants) {
    out += Row({t.name, Fmt("%.3f", t.share), std::to_string(t.jobs), Hours(t.wait_p50_s),
                Hours(t.wait_p95_s), Fmt("%.1f", t.bsld_p95), Fmt("%.3f", t.entitled),
                Fmt("%.3f", t.received), Fmt("%.1f%%", 100 * t.shortfall)},
               w);
  }
  return out;
}

std::string ToJson(const std::vector<PolicyRun>& runs, const std::string& trace_name) {
  nlohmann::json j;
  j["trace"] = trace_name;
  j["policies"] = nlohmann::json::array();
  for (const PolicyRun& r : runs) {
    const Metrics& m = r.metrics;
    nlohmann::json p = {
        {"policy", m.policy},
        {"jobs", m.jobs},
        {"completed", m.completed},
        {"never_completed", m.never_completed},
        {"denied", m.denied},
        {"arrival_window_s", m.arrival_window_s},
        {"utilisation", m.utilisation},
        {"utilisation_contended", m.utilisation_contended},
        {"jain", m.jain},
        {"jain_windows", m.jain_windows},
        {"wait_p50_s", m.wait_p50_s},
        {"wait_p95_s", m.wait_p95_s},
        {"bounded_slowdown_p95", m.bsld_p95},
        {"max_shortfall", m.max_shortfall},
        {"max_shortfall_tenant", m.max_shortfall_tenant},
        {"max_fit_wait_s", m.max_fit_wait_s},
        {"preemptions", m.preemptions},
        {"lost_gpu_s", m.lost_gpu_s},
        {"lost_fraction", m.lost_fraction},
        {"schedule_calls", r.result.schedule_calls},
    };
    p["tenants"] = nlohmann::json::array();
    for (const TenantMetrics& t : m.tenants) {
      p["tenants"].push_back({{"tenant", t.name},
                              {"share", t.share},
                              {"jobs", t.jobs},
                              {"completed", t.completed},
                              {"never_completed", t.never_completed},
                              {"wait_p50_s", t.wait_p50_s},
                              {"wait_p95_s", t.wait_p95_s},
                              {"bounded_slowdown_p95", t.bsld_p95},
                              {"backlogged_s", t.backlogged_s},
                              {"entitled", t.entitled},
                              {"received", t.received},
                              {"shortfall", t.shortfall},
                              {"gpu_s", t.gpu_s}});
    }
    j["policies"].push_back(std::move(p));
  }
  return j.dump(2);
}

}  // namespace egret::sim
