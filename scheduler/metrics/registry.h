// Prometheus metrics in the text exposition format (version 0.0.4). Counters and histograms
// are lock-free on the hot path; per-tenant figures that live in the daemon's state are
// written by collectors at scrape time, so they are never stale and cost nothing between
// scrapes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace egret::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  // Appends NAME_bucket/_sum/_count lines with LABELS (e.g. `op="acquire"`, may be empty).
  void Render(const std::string& name, const std::string& labels, std::string* out) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micro_{0};  // sum in millionths, so it can be atomic
};

// Writes one sample line: NAME{LABELS} VALUE.
void Sample(std::string* out, const std::string& name, const std::string& labels, double value);
// Escapes a label value (backslash, quote, newline).
std::string LabelValue(const std::string& v);

class Registry {
 public:
  Counter* AddCounter(const std::string& name, const std::string& help,
                      const std::string& labels = "");
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, const std::string& labels = "");
  // A collector appends whole families (with their # HELP/# TYPE lines) at scrape time.
  void AddCollector(std::function<void(std::string*)> collect);
  std::string Render() const;

 private:
  struct Family {
    std::string help, type;
    std::vector<std::pair<std::string, std::unique_ptr<Counter>>> counters;
    std::vector<std::pair<std::string, std::unique_ptr<Histogram>>> histograms;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::vector<std::function<void(std::string*)>> collectors_;
};

}  // namespace egret::metrics
