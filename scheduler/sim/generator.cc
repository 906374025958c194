#include "scheduler/sim/generator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace egret::sim {
namespace {

// splitmix64: small, fast and identical on every platform (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }

 private:
  uint64_t s_;
};

// Job sizes: mostly small, a tail of large jobs; capped at a quarter of the partition.
int JobSize(Rng& rng, int gpus) {
  static const int kSizes[] = {1, 2, 4, 8, 16};
  static const double kCum[] = {0.35, 0.60, 0.80, 0.92, 1.0};
  double u = rng.Uniform();
  int k = 0;
  while (u > kCum[k]) ++k;
  return std::max(1, std::min(kSizes[k], gpus / 4));
}

double MeanJobSize(int gpus) {
  static const int kSizes[] = {1, 2, 4, 8, 16};
  static const double kP[] = {0.35, 0.25, 0.20, 0.12, 0.08};
  double m = 0;
  for (int k = 0; k < 5; ++k) m += kP[k] * std::max(1, std::min(kSizes[k], gpus / 4));
  return m;
}

}  // namespace

policy::Spec ProportionalSpec(const std::vector<std::string>& tenants, const std::vector<double>& shares,
                              int gpus, double half_life_s) {
  policy::Spec spec;
  spec.half_life_s = half_life_s;
  spec.partitions.push_back({"gpu", gpus, 1.0, true});
  spec.cohorts = {"all"};
  const double total = std::accumulate(shares.begin(), shares.end(), 0.0);
  std::vector<double> exact(tenants.size());
  std::vector<int> nominal(tenants.size());
  int given = 0;
  for (size_t i = 0; i < tenants.size(); ++i) {
    exact[i] = gpus * shares[i] / total;
    nominal[i] = static_cast<int>(std::floor(exact[i]));
    given += nominal[i];
  }
  std::vector<size_t> order(tenants.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return exact[a] - nominal[a] > exact[b] - nominal[b];
  });
  for (size_t k = 0; given < gpus && k < order.size(); ++k, ++given) ++nominal[order[k]];
  for (size_t i = 0; i < tenants.size(); ++i) {
    policy::TenantSpec t;
    t.name = tenants[i];
    t.shares = shares[i];
    t.cohort = 0;
    t.quota = {{static_cast<double>(nominal[i]), policy::kUnlimited, policy::kUnlimited}};
    t.allowed = {true};
    spec.tenants.push_back(std::move(t));
  }
  return spec;
}

Scenario Generate(const GeneratorOptions& o) {
  Scenario sc;
  const size_t T = o.shares.size();
  std::vector<std::string> names;
  for (size_t i = 0; i < T; ++i) names.push_back("t" + std::to_string(i));
  sc.spec = ProportionalSpec(names, o.shares, o.gpus, o.half_life_s);

  Rng rng(o.seed);
  const double window = o.days * 86400;
  // E[runtime] of a log-uniform on [a, b] is (b - a) / ln(b / a).
  const double mean_runtime =
      (o.max_runtime_s - o.min_runtime_s) / std::log(o.max_runtime_s / o.min_runtime_s);
  const double mean_work = MeanJobSize(o.gpus) * mean_runtime;
  const double demand_total = std::accumulate(o.demand.begin(), o.demand.end(), 0.0);
  uint64_t id = 1;
  for (size_t i = 0; i < T; ++i) {
    const double d = i < o.demand.size() ? o.demand[i] / demand_total : 1.0 / T;
    const double offered = o.load * o.gpus * window * d;  // GPU-seconds this tenant brings
    // Arrivals come only in busy spells (half the time on average), so twice the mean rate.
    const double rate_busy = offered / mean_work / (0.5 * window);
    double t = 0;
    bool busy = rng.Uniform() < 0.5;
    while (t < window) {
      const double spell = rng.Exponential(o.busy_mean_h * 3600);
      const double end = std::min(window, t + spell);
      if (busy) {
        double a = t + rng.Exponential(1.0 / rate_busy);
        while (a < end) {
          TraceJob j;
          j.id = id++;
          j.submit_s = std::floor(a);
          j.runtime_s = std::round(o.min_runtime_s * std::pow(o.max_runtime_s / o.min_runtime_s, rng.Uniform()));
          // Users ask for more time than they use: 1x to 2x, rounded up to 10 minutes.
          j.time_limit_s = std::ceil(j.runtime_s * (1.0 + rng.Uniform()) / 600.0) * 600.0;
          j.gpus = JobSize(rng, o.gpus);
          j.tenant = names[i];
          sc.trace.jobs.push_back(std::move(j));
          a += rng.Exponential(1.0 / rate_busy);
        }
      }
      t = end;
      busy = !busy;
    }
  }
  std::stable_sort(sc.trace.jobs.begin(), sc.trace.jobs.end(), [](const TraceJob& a, const TraceJob& b) {
    return a.submit_s != b.submit_s ? a.submit_s < b.submit_s : a.id < b.id;
  });
  return sc;
}

}  // namespace egret::sim
