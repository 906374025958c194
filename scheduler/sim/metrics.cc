#include "scheduler/sim/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "scheduler/policy/fairshare.h"

namespace egret::sim {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

double JainIndex(const std::vector<double>& x) {
  if (x.empty()) return 1;
  double s = 0, s2 = 0;
  for (double v : x) s += v, s2 += v * v;
  if (s2 == 0) return 1;
  return s * s / (static_cast<double>(x.size()) * s2);
}

std::vector<double> EntitledShares(const std::vector<double>& share, const std::vector<double>& held,
                                   const std::vector<bool>& backlogged) {
  const size_t n = share.size();
  std::vector<double> e(n, 0.0);
  double slope = 0;
  std::vector<size_t> others;
  for (size_t i = 0; i < n; ++i) {
    if (backlogged[i]) {
      slope += share[i];
    } else if (share[i] > 0) {
      others.push_back(i);
      slope += share[i];
    }
  }
  if (slope == 0) return e;
  // A satisfied tenant is capped at what it holds once lambda * share passes it.
  std::sort(others.begin(), others.end(),
            [&](size_t a, size_t b) { return held[a] / share[a] < held[b] / share[b]; });
  double fixed = 0, lambda = 0;
  size_t k = 0;
  while (true) {
    lambda = slope > 0 ? (1.0 - fixed) / slope : 0;
    if (k < others.size() && lambda * share[others[k]] > held[others[k]]) {
      fixed += held[others[k]];
      slope -= share[others[k]];
      ++k;
      continue;
    }
    break;
  }
  lambda = std::max(0.0, lambda);
  for (size_t i = 0; i < n; ++i)
    if (backlogged[i]) e[i] = lambda * share[i];
  return e;
}

Metrics ComputeMetrics(const policy::Spec& spec, int partition, const SimResult& r,
                       const MetricOptions& opt) {
  Metrics m;
  const int T = r.timeline.tenants;
  const double cap = spec.partitions[partition].capacity_gpus;
  const Timeline& tl = r.timeline;
  std::vector<double> share = policy::NormalisedShares(spec);
  m.tenants.resize(T);
  for (int i = 0; i < T; ++i) {
    m.tenants[i].name = spec.tenants[i].name;
    m.tenants[i].share = share[i];
  }

  // Jobs: waits and bounded slowdowns. A job that never completed is counted as if it ended at
  // the end of the run: a lower bound on how long it really waits, so no policy gains by
  // starving or refusing jobs.
  double first_submit = INFINITY, last_submit = -INFINITY;
  for (const JobRecord& j : r.jobs) {
    first_submit = std::min(first_submit, j.submit);
    last_submit = std::max(last_submit, j.submit);
  }
  const double run_end = tl.size() ? tl.t1.back() : (r.jobs.empty() ? 0 : last_submit);
  std::vector<double> waits, bslds;
  std::vector<std::vector<double>> twaits(T), tbslds(T);
  for (const JobRecord& j : r.jobs) {
    ++m.jobs;
    ++m.tenants[j.tenant].jobs;
    if (j.denied) ++m.denied;
    const bool done = j.end >= 0;
    if (done) {
      ++m.completed;
      ++m.tenants[j.tenant].completed;
    } else {
      ++m.never_completed;
      ++m.tenants[j.tenant].never_completed;
    }
    const double end = done ? j.end : std::max(run_end, j.submit + j.runtime);
    const double wait = j.first_start >= 0 ? j.first_start - j.submit : end - j.submit;
    const double bsld = std::max(1.0, (end - j.submit) / std::max(j.runtime, opt.slowdown_threshold_s));
    waits.push_back(wait);
    bslds.push_back(bsld);
    twaits[j.tenant].push_back(wait);
    tbslds[j.tenant].push_back(bsld);
    m.max_fit_wait_s = std::max(m.max_fit_wait_s, j.fit_wait_s);
  }
  m.wait_p50_s = Percentile(waits, 50);
  m.wait_p95_s = Percentile(waits, 95);
  m.bsld_p95 = Percentile(bslds, 95);
  for (int i = 0; i < T; ++i) {
    m.tenants[i].wait_p50_s = Percentile(twaits[i], 50);
    m.tenants[i].wait_p95_s = Percentile(twaits[i], 95);
    m.tenants[i].bsld_p95 = Percentile(tbslds[i], 95);
  }

  // Time-based metrics from the timeline.
  m.arrival_window_s = r.jobs.empty() ? 0 : last_submit - first_submit;
  double busy_arrival = 0, busy_contended = 0, contended = 0;
  std::vector<double> entitled_int(T, 0.0), received_int(T, 0.0);
  // Per-window accumulators.
  const double w0 = tl.size() ? tl.t0.front() : 0;
  std::vector<double> wd(T, 0.0), we(T, 0.0), wb(T, 0.0);
  double jain_sum = 0;
  int cur_window = 0;
  double cur_window_len = 0;
  auto close_window = [&]() {
    std::vector<double> x;
    for (int i = 0; i < T; ++i)
      if (wb[i] >= opt.min_backlog_fraction * cur_window_len && we[i] > 0) x.push_back(wd[i] / we[i]);
    if (x.size() >= 2) {
      jain_sum += JainIndex(x);
      ++m.jain_windows;
    }
    std::fill(wd.begin(), wd.end(), 0.0);
    std::fill(we.begin(), we.end(), 0.0);
    std::fill(wb.begin(), wb.end(), 0.0);
    cur_window_len = 0;
  };
  std::vector<double> held(T), frac(T);
  std::vector<bool> back(T);
  for (size_t s = 0; s < tl.size(); ++s) {
    double total = 0;
    bool any_back = false;
    for (int i = 0; i < T; ++i) {
      held[i] = tl.held[s * T + i];
      frac[i] = cap > 0 ? held[i] / cap : 0;
      back[i] = tl.backlogged[s * T + i] != 0;
      any_back = any_back || back[i];
      total += held[i];
    }
    const double a = tl.t0[s], b = tl.t1[s];
    for (int i = 0; i < T; ++i) m.tenants[i].gpu_s += held[i] * (b - a);
    // Utilisation over the arrival window.
    const double lo = std::max(a, first_submit), hi = std::min(b, last_submit);
    if (hi > lo) busy_arrival += total * (hi - lo);
    if (tl.any_waiting[s]) {
      contended += b - a;
      busy_contended += total * (b - a);
    }
    std::vector<double> e;
    if (any_back) e = EntitledShares(share, frac, back);
    // Split the segment at window boundaries.
    double t = a;
    while (t < b) {
      const int w = static_cast<int>(std::floor((t - w0) / opt.window_s));
      if (w != cur_window) {
        close_window();
        cur_window = w;
      }
      const double wend = w0 + (w + 1) * opt.window_s;
      const double piece = std::min(b, wend) - t;
      cur_window_len += piece;
      if (any_back) {
        for (int i = 0; i < T; ++i) {
          if (!back[i]) continue;
          wd[i] += frac[i] * piece;
          we[i] += e[i] * piece;
          wb[i] += piece;
          received_int[i] += frac[i] * piece;
          entitled_int[i] += e[i] * piece;
          m.tenants[i].backlogged_s += piece;
        }
      }
      t += piece;
    }
  }
  close_window();
  m.jain = m.jain_windows ? jain_sum / m.jain_windows : 1.0;
  m.utilisation = m.arrival_window_s > 0 && cap > 0 ? busy_arrival / (cap * m.arrival_window_s) : 0;
  m.utilisation_contended = contended > 0 && cap > 0 ? busy_contended / (cap * contended) : 0;
  for (int i = 0; i < T; ++i) {
    TenantMetrics& tm = m.tenants[i];
    if (tm.backlogged_s > 0) {
      tm.entitled = entitled_int[i] / tm.backlogged_s;
      tm.received = received_int[i] / tm.backlogged_s;
      tm.shortfall = tm.entitled - tm.received;
    }
    if (tm.shortfall > m.max_shortfall) {
      m.max_shortfall = tm.shortfall;
      m.max_shortfall_tenant = tm.name;
    }
  }
  m.preemptions = r.preemptions;
  m.lost_gpu_s = r.lost_gpu_s;
  m.lost_fraction = m.arrival_window_s > 0 && cap > 0 ? r.lost_gpu_s / (cap * m.arrival_window_s) : 0;
  return m;
}

}  // namespace egret::sim
