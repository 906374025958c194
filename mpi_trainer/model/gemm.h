// Row-major single-precision GEMM over the trainer's threads (see threads.h):
// C[m,n] = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. C is cut into tiles whose size
// depends only on (m, n); each tile is one single-threaded cblas_sgemm, taken by whichever
// thread is free. The result is the same for any thread count.
#pragma once

namespace egret::trainer {

void Sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace egret::trainer
