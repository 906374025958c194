#include "mpi_trainer/model/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

#include "mpi_trainer/model/threads.h"

namespace egret::trainer {

namespace {

void Block(bool ta, bool tb, int m0, int m1, int n0, int n1, int k, float alpha, const float* a,
           int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m1 <= m0 || n1 <= n0) return;
  const float* ab = ta ? a + m0 : a + static_cast<long>(m0) * lda;
  const float* bb = tb ? b + static_cast<long>(n0) * ldb : b + n0;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              m1 - m0, n1 - n0, k, alpha, ab, lda, bb, ldb, beta,
              c + static_cast<long>(m0) * ldc + n0, ldc);
}

// Splits [0, total) into `parts` ranges aligned to `align`.
inline int Cut(int total, int parts, int i, int align) {
  if (i >= parts) return total;
  long units = (total + align - 1) / align;
  long cut = units * i / parts * align;
  return static_cast<int>(std::min<long>(cut, total));
}

}  // namespace

void Sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  const int nt = omp_in_parallel() ? 1 : NumThreads();
  const double flops = 2.0 * m * n * std::max(k, 1);
  if (nt == 1 || flops < 4e6 || k == 0) {
    if (k == 0) {  // cblas leaves C untouched for k == 0 on some builds; make beta apply
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) c[static_cast<long>(i) * ldc + j] *= beta;
      return;
    }
    Block(ta, tb, 0, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // A grid pm x pn = nt with blocks as square as possible, so each thread's panel of A and
  // B stays small and its block big enough for the BLAS kernel.
  int best_pm = 1;
  double best = -1;
  for (int pm = 1; pm <= nt; ++pm) {
    if (nt % pm) continue;
    int pn = nt / pm;
    double score = std::min(static_cast<double>(m) / pm, static_cast<double>(n) / pn);
    if (score > best) {
      best = score;
      best_pm = pm;
    }
  }
  const int pm = best_pm, pn = nt / best_pm;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int bi = t / pn, bj = t % pn;
    Block(ta, tb, Cut(m, pm, bi, 16), Cut(m, pm, bi + 1, 16), Cut(n, pn, bj, 16),
          Cut(n, pn, bj + 1, 16), k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace egret::trainer
