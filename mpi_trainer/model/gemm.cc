#include "mpi_trainer/model/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "mpi_trainer/model/threads.h"

namespace egret::trainer {

namespace {

void Block(bool ta, bool tb, int m0, int m1, int n0, int n1, int k, float alpha, const float* a,
           int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  const float* ab = ta ? a + m0 : a + static_cast<long>(m0) * lda;
  const float* bb = tb ? b + static_cast<long>(n0) * ldb : b + n0;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              m1 - m0, n1 - n0, k, alpha, ab, lda, bb, ldb, beta,
              c + static_cast<long>(m0) * ldc + n0, ldc);
}

}  // namespace

void Sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // C = beta * C
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[static_cast<long>(i) * ldc + j] *= beta;
    return;
  }
  // Tiles of 128 x 256, halved (down to 32 x 64) until there are enough of them to share.
  int tm = 128, tn = 256;
  auto count = [&] { return static_cast<long>((m + tm - 1) / tm) * ((n + tn - 1) / tn); };
  if (2.0 * m * n * k >= 2e6) {
    while (count() < 16 && (tm > 32 || tn > 64)) {
      if (tn > 64 && (tn >= 2 * tm || tm <= 32)) tn /= 2;
      else tm /= 2;
    }
  } else {
    tm = m;
    tn = n;
  }
  const int bm = (m + tm - 1) / tm, bn = (n + tn - 1) / tn;
  ParallelTasks(static_cast<int64_t>(bm) * bn, [&](int64_t t) {
    const int i = static_cast<int>(t / bn), j = static_cast<int>(t % bn);
    Block(ta, tb, i * tm, std::min(m, (i + 1) * tm), j * tn, std::min(n, (j + 1) * tn), k, alpha, a,
          lda, b, ldb, beta, c, ldc);
  });
}

}  // namespace egret::trainer
