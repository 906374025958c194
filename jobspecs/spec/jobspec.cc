#include "jobspecs/spec/jobspec.h"

#include <algorithm>

namespace egret::jobspec {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kFinetune: return "finetune";
    case Kind::kEval: return "eval";
    case Kind::kBenchmark: return "benchmark";
  }
  return "?";
}

int64_t Jobspec::TaskCount() const {
  int64_t n = 1;
  for (const auto& s : training) n = std::min<int64_t>(n * static_cast<int64_t>(s.values.size()), 1 << 30);
  return n;
}

}  // namespace egret::jobspec
