#include "jobspecs/spec/sweep.h"

#include "jobspecs/spec/value_text.h"

namespace egret::jobspec {

std::vector<std::pair<std::string, Value>> SweepValues(const Jobspec& spec, int64_t task) {
  std::vector<std::pair<std::string, Value>> out;
  // Mixed radix with the last swept setting as the fastest digit.
  int64_t rest = task;
  for (auto it = spec.training.rbegin(); it != spec.training.rend(); ++it) {
    if (!it->swept()) continue;
    int64_t n = static_cast<int64_t>(it->values.size());
    out.emplace_back(it->key, it->values[static_cast<size_t>(rest % n)]);
    rest /= n;
  }
  return {out.rbegin(), out.rend()};
}

std::string DescribeTask(const Jobspec& spec, int64_t task) {
  std::string out;
  for (const auto& [key, value] : SweepValues(spec, task))
    out += (out.empty() ? "" : " ") + key + "=" + PlainValue(value);
  return out;
}

}  // namespace egret::jobspec
