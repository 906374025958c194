#include "jobspecs/bench/gemm.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include <cblas.h>

namespace egret::jobspec::bench {

Result<nlohmann::json> RunGemm(int n, int repeats) {
  if (n < 1 || repeats < 1) return Error("gemm: size and repeats must be positive");
  const size_t count = static_cast<size_t>(n) * static_cast<size_t>(n);
  std::vector<float> a(count), b(count), c(count, 0.f);
  for (size_t i = 0; i < count; ++i) {
    a[i] = static_cast<float>((i * 7 % 13) - 6) / 8.f;
    b[i] = static_cast<float>((i * 5 % 11) - 5) / 8.f;
  }
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n,
                0.f, c.data(), n);
  };
  run();  // warm-up: page faults, thread pool start
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  double best = times.front();
  double flops = 2.0 * n * static_cast<double>(n) * n;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return nlohmann::json{{"size", n},
                        {"repeats", repeats},
                        {"best_s", best},
                        {"median_s", times[times.size() / 2]},
                        {"gflops", flops / best / 1e9},
                        {"host", host},
                        {"checksum", static_cast<double>(c[0]) + c[count - 1]}};
}

}  // namespace egret::jobspec::bench
