#include "scheduler/metrics/registry.h"

#include <cmath>
#include <cstdio>

namespace egret::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<uint64_t>(std::llround(std::max(v, 0.0) * 1e6)),
                       std::memory_order_relaxed);
}

std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Sample(std::string* out, const std::string& name, const std::string& labels, double value) {
  char num[64];
  if (std::isinf(value)) std::snprintf(num, sizeof num, value > 0 ? "+Inf" : "-Inf");
  else std::snprintf(num, sizeof num, "%.17g", value);
  *out += name;
  if (!labels.empty()) *out += "{" + labels + "}";
  *out += " ";
  *out += num;
  *out += "\n";
}

void Histogram::Render(const std::string& name, const std::string& labels, std::string* out) const {
  uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    char le[64];
    if (i == bounds_.size()) std::snprintf(le, sizeof le, "+Inf");
    else std::snprintf(le, sizeof le, "%g", bounds_[i]);
    Sample(out, name + "_bucket", labels + sep + "le=\"" + le + "\"", static_cast<double>(cumulative));
  }
  Sample(out, name + "_sum", labels, static_cast<double>(sum_micro_.load()) / 1e6);
  Sample(out, name + "_count", labels, static_cast<double>(count_.load()));
}

Counter* Registry::AddCounter(const std::string& name, const std::string& help,
                              const std::string& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "counter";
  f.counters.emplace_back(labels, std::make_unique<Counter>());
  return f.counters.back().second.get();
}

Histogram* Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds, const std::string& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "histogram";
  f.histograms.emplace_back(labels, std::make_unique<Histogram>(std::move(bounds)));
  return f.histograms.back().second.get();
}

void Registry::AddCollector(std::function<void(std::string*)> collect) {
  std::lock_guard<std::mutex> l(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) Sample(&out, name, labels, static_cast<double>(c->value()));
    for (const auto& [labels, h] : f.histograms) h->Render(name, labels, &out);
  }
  for (const auto& c : collectors_) c(&out);
  return out;
}

}  // namespace egret::metrics
