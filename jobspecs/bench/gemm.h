// The built-in benchmark workload: single-precision GEMM through the node's BLAS, the
// kernel that dominates CPU training steps. One JSON object per rank.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::jobspec::bench {

// N x N x N sgemm, REPEATS timed runs after one warm-up; the best run gives gflops.
Result<nlohmann::json> RunGemm(int n, int repeats);

}  // namespace egret::jobspec::bench
