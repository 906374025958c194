// Linear layers: nn.Linear (weight [out, in]) or GPT-2's Conv1D (weight [in, out]), both fed
// to BLAS with the matching transpose flag so no weight is ever transposed in memory, plus
// the LoRA path y += scale * (dropout(x) A^T) B^T.
#include <cstring>

#include "mpi_trainer/model/gemm.h"
#include "mpi_trainer/model/kernels.h"
#include "mpi_trainer/model/net.h"
#include "mpi_trainer/model/threads.h"

namespace egret::trainer::detail {

namespace {

inline uint64_t Mix(uint64_t z) {  // splitmix64 finaliser
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// out[r, c] = x[r, c] * keep / (1 - p); keep is a pure function of (seed, counter, module,
// element), so the backward regenerates the same mask and runs are reproducible.
void Dropout(const Linear& l, const LoraSaved& s, int n, const float* x, int ldx, float* out,
             int ldo) {
  const uint64_t key = Mix(s.seed ^ Mix(s.counter ^ Mix(static_cast<uint64_t>(l.lora_id))));
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(l.dropout) * (1ull << 24));
  const float keep_scale = 1.0f / (1.0f - l.dropout);
  ParallelFor(n, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int c = 0; c < l.in; ++c) {
        const uint64_t idx = static_cast<uint64_t>(r) * l.in + c;
        const bool keep = (Mix(key ^ idx) >> 40) >= threshold;
        out[r * ldo + c] = keep ? x[r * ldx + c] * keep_scale : 0.0f;
      }
  });
}

}  // namespace

size_t LinearScratch(const Linear& l, int n) {
  return l.lora_a < 0 ? 0 : static_cast<size_t>(n) * (2 * l.in + l.r);
}

void LinearForward(const ParamStore& p, const Linear& l, int n, const float* x, int ldx, float* y,
                   int ldy, const LoraSaved& lora, float* scratch) {
  const float* w = p.value(l.w);
  if (l.conv1d) Sgemm(false, false, n, l.out, l.in, 1.0f, x, ldx, w, l.out, 0.0f, y, ldy);
  else Sgemm(false, true, n, l.out, l.in, 1.0f, x, ldx, w, l.in, 0.0f, y, ldy);
  if (l.b >= 0) kernels::AddBias(n, l.out, p.value(l.b), y, ldy);
  if (l.lora_a < 0) return;
  const float* xd = x;
  int ldxd = ldx;
  if (lora.dropout_on && l.dropout > 0) {
    Dropout(l, lora, n, x, ldx, scratch, l.in);
    xd = scratch;
    ldxd = l.in;
  }
  Sgemm(false, true, n, l.r, l.in, 1.0f, xd, ldxd, p.value(l.lora_a), l.in, 0.0f, lora.h, l.r);
  Sgemm(false, true, n, l.out, l.r, l.scale, lora.h, l.r, p.value(l.lora_b), l.r, 1.0f, y, ldy);
}

void LinearBackward(ParamStore& p, const Linear& l, int n, const float* x, int ldx,
                    const float* dy, int ldy, float* dx, int lddx, bool accumulate,
                    const LoraSaved& lora, float* scratch) {
  const ParamInfo& wi = p.info(l.w);
  const float* w = p.value(l.w);
  if (wi.trainable) {
    if (l.conv1d) Sgemm(true, false, l.in, l.out, n, 1.0f, x, ldx, dy, ldy, 1.0f, p.grad(l.w), l.out);
    else Sgemm(true, false, l.out, l.in, n, 1.0f, dy, ldy, x, ldx, 1.0f, p.grad(l.w), l.in);
  }
  if (l.b >= 0 && p.info(l.b).trainable) kernels::BiasBackward(n, l.out, dy, ldy, p.grad(l.b));
  if (dx) {
    const float beta = accumulate ? 1.0f : 0.0f;
    if (l.conv1d) Sgemm(false, true, n, l.in, l.out, 1.0f, dy, ldy, w, l.out, beta, dx, lddx);
    else Sgemm(false, false, n, l.in, l.out, 1.0f, dy, ldy, w, l.in, beta, dx, lddx);
  }
  if (l.lora_a < 0) return;
  const bool a_train = p.info(l.lora_a).trainable, b_train = p.info(l.lora_b).trainable;
  if (!a_train && !b_train && !dx) return;
  const bool drop = lora.dropout_on && l.dropout > 0;
  float* xd_buf = scratch;                                  // [n, in]
  float* dh = scratch + static_cast<size_t>(n) * l.in;      // [n, r]
  float* dxd = dh + static_cast<size_t>(n) * l.r;           // [n, in]
  // dh = scale * dy B
  Sgemm(false, false, n, l.r, l.out, l.scale, dy, ldy, p.value(l.lora_b), l.r, 0.0f, dh, l.r);
  if (b_train)
    Sgemm(true, false, l.out, l.r, n, l.scale, dy, ldy, lora.h, l.r, 1.0f, p.grad(l.lora_b), l.r);
  if (a_train) {
    const float* xd = x;
    int ldxd = ldx;
    if (drop) {
      Dropout(l, lora, n, x, ldx, xd_buf, l.in);
      xd = xd_buf;
      ldxd = l.in;
    }
    Sgemm(true, false, l.r, l.in, n, 1.0f, dh, l.r, xd, ldxd, 1.0f, p.grad(l.lora_a), l.in);
  }
  if (dx) {
    if (!drop) {
      Sgemm(false, false, n, l.in, l.r, 1.0f, dh, l.r, p.value(l.lora_a), l.in, 1.0f, dx, lddx);
    } else {
      Sgemm(false, false, n, l.in, l.r, 1.0f, dh, l.r, p.value(l.lora_a), l.in, 0.0f, dxd, l.in);
      // The dropout mask applied to dxd: Dropout of dxd itself gives dxd * keep / (1 - p).
      Dropout(l, lora, n, dxd, l.in, xd_buf, l.in);
      ParallelFor(n, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
          for (int c = 0; c < l.in; ++c) dx[r * lddx + c] += xd_buf[r * l.in + c];
      });
    }
  }
}

}  // namespace egret::trainer::detail
