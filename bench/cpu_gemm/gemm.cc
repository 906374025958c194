// sgemm throughput through OpenBLAS (the trainer's CPU GEMM) on the shapes of a small
// Llama's training step. Prints one JSON object per shape and the overall GFLOP/s.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

struct Shape { int m, n, k; };

int main() {
  // tokens x hidden x hidden, tokens x mlp x hidden, tokens x vocab x hidden (B4 x T256).
  const Shape shapes[] = {{1024, 256, 256}, {1024, 688, 256}, {1024, 256, 688}, {1024, 8192, 256}};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  double total_flop = 0, total_s = 0;
  for (const Shape& s : shapes) {
    std::vector<float> a(size_t(s.m) * s.k), b(size_t(s.k) * s.n), c(size_t(s.m) * s.n);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    auto run = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k,
                  b.data(), s.n, 0.0f, c.data(), s.n);
    };
    for (int i = 0; i < 3; ++i) run();
    int iters = 0;
    auto t0 = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < 0.5) {
      run();
      ++iters;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    double flop = 2.0 * s.m * s.n * s.k * iters;
    total_flop += flop;
    total_s += elapsed;
    std::printf("{\"m\": %d, \"n\": %d, \"k\": %d, \"gflops\": %.2f}\n", s.m, s.n, s.k,
                flop / elapsed / 1e9);
  }
  std::printf("{\"total_gflops\": %.2f}\n", total_flop / total_s / 1e9);
}
