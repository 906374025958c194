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

// True when the group's weights form one [sum(out), in] matrix in the buffer.
bool Fused(const ParamStore& p, std::span<const Linear> g) {
  if (g.size() < 2) return false;
  for (size_t j = 1; j < g.size(); ++j) {
    if (g[j].conv1d || g[0].conv1d || g[j].in != g[0].in || g[j].col != g[j - 1].col + g[j - 1].out ||
        p.value(g[j].w) != p.value(g[j - 1].w) + static_cast<size_t>(g[j - 1].out) * g[j - 1].in)
      return false;
  }
  return true;
}

bool FusedBias(const ParamStore& p, std::span<const Linear> g) {
  for (size_t j = 0; j < g.size(); ++j)
    if (g[j].b < 0 || (j > 0 && p.value(g[j].b) != p.value(g[j - 1].b) + g[j - 1].out)) return false;
  return true;
}

int TotalOut(std::span<const Linear> g) {
  int t = 0;
  for (const auto& l : g) t += l.out;
  return t;
}

}  // namespace

size_t LoraScratch(const Linear& l, int n) {
  return l.lora_a < 0 ? 0 : static_cast<size_t>(n) * (2 * l.in + l.r);
}

void GroupForward(const ParamStore& p, std::span<const Linear> g, int n, const float* x, int ldx,
                  float* y, int ldy) {
  if (Fused(p, g)) {
    const int out = TotalOut(g), in = g[0].in;
    Sgemm(false, true, n, out, in, 1.0f, x, ldx, p.value(g[0].w), in, 0.0f, y + g[0].col, ldy);
    if (FusedBias(p, g)) {
      kernels::AddBias(n, out, p.value(g[0].b), y + g[0].col, ldy);
      return;
    }
    for (const auto& l : g)
      if (l.b >= 0) kernels::AddBias(n, l.out, p.value(l.b), y + l.col, ldy);
    return;
  }
  for (const auto& l : g) {
    const float* w = p.value(l.w);
    if (l.conv1d) Sgemm(false, false, n, l.out, l.in, 1.0f, x, ldx, w, l.out, 0.0f, y + l.col, ldy);
    else Sgemm(false, true, n, l.out, l.in, 1.0f, x, ldx, w, l.in, 0.0f, y + l.col, ldy);
    if (l.b >= 0) kernels::AddBias(n, l.out, p.value(l.b), y + l.col, ldy);
  }
}

void GroupBackward(ParamStore& p, std::span<const Linear> g, int n, const float* x, int ldx,
                   const float* dy, int ldy, float* dx, int lddx, bool accumulate) {
  const bool fused = Fused(p, g);
  bool all_train = true;
  for (const auto& l : g) all_train = all_train && p.info(l.w).trainable;
  if (fused && all_train) {  // dW [sum(out), in] += dy^T x, in one GEMM
    const int out = TotalOut(g), in = g[0].in;
    Sgemm(true, false, out, in, n, 1.0f, dy + g[0].col, ldy, x, ldx, 1.0f, p.grad(g[0].w), in);
  } else {
    for (const auto& l : g) {
      if (!p.info(l.w).trainable) continue;
      if (l.conv1d) Sgemm(true, false, l.in, l.out, n, 1.0f, x, ldx, dy + l.col, ldy, 1.0f, p.grad(l.w), l.out);
      else Sgemm(true, false, l.out, l.in, n, 1.0f, dy + l.col, ldy, x, ldx, 1.0f, p.grad(l.w), l.in);
    }
  }
  for (const auto& l : g)
    if (l.b >= 0 && p.info(l.b).trainable) kernels::BiasBackward(n, l.out, dy + l.col, ldy, p.grad(l.b));
  if (!dx) return;
  if (fused) {  // dx = dy [n, sum(out)] W [sum(out), in]
    const int out = TotalOut(g), in = g[0].in;
    Sgemm(false, false, n, in, out, 1.0f, dy + g[0].col, ldy, p.value(g[0].w), in, accumulate ? 1.0f : 0.0f, dx, lddx);
    return;
  }
  for (size_t j = 0; j < g.size(); ++j) {
    const Linear& l = g[j];
    const float beta = (accumulate || j > 0) ? 1.0f : 0.0f;
    if (l.conv1d) Sgemm(false, true, n, l.in, l.out, 1.0f, dy + l.col, ldy, p.value(l.w), l.out, beta, dx, lddx);
    else Sgemm(false, false, n, l.in, l.out, 1.0f, dy + l.col, ldy, p.value(l.w), l.in, beta, dx, lddx);
  }
}

void LoraForward(const ParamStore& p, const Linear& l, int n, const float* x, int ldx, float* y,
                 int ldy, const LoraSaved& s, float* scratch) {
  if (l.lora_a < 0) return;
  const float* xd = x;
  int ldxd = ldx;
  if (s.dropout_on && l.dropout > 0) {
    Dropout(l, s, n, x, ldx, scratch, l.in);
    xd = scratch;
    ldxd = l.in;
  }
  Sgemm(false, true, n, l.r, l.in, 1.0f, xd, ldxd, p.value(l.lora_a), l.in, 0.0f, s.h, l.r);
  Sgemm(false, true, n, l.out, l.r, l.scale, s.h, l.r, p.value(l.lora_b), l.r, 1.0f, y + l.col, ldy);
}

void LoraBackward(ParamStore& p, const Linear& l, int n, const float* x, int ldx, const float* dy,
                  int ldy, float* dx, int lddx, const LoraSaved& s, float* scratch) {
  if (l.lora_a < 0) return;
  const bool a_train = p.info(l.lora_a).trainable, b_train = p.info(l.lora_b).trainable;
  if (!a_train && !b_train && !dx) return;
  dy += l.col;
  const bool drop = s.dropout_on && l.dropout > 0;
  float* xd_buf = scratch;                              // [n, in]
  float* dh = scratch + static_cast<size_t>(n) * l.in;  // [n, r]
  float* dxd = dh + static_cast<size_t>(n) * l.r;       // [n, in]
  // dh = scale * dy B
  Sgemm(false, false, n, l.r, l.out, l.scale, dy, ldy, p.value(l.lora_b), l.r, 0.0f, dh, l.r);
  if (b_train)
    Sgemm(true, false, l.out, l.r, n, l.scale, dy, ldy, s.h, l.r, 1.0f, p.grad(l.lora_b), l.r);
  if (a_train) {
    const float* xd = x;
    int ldxd = ldx;
    if (drop) {
      Dropout(l, s, n, x, ldx, xd_buf, l.in);
      xd = xd_buf;
      ldxd = l.in;
    }
    Sgemm(true, false, l.r, l.in, n, 1.0f, dh, l.r, xd, ldxd, 1.0f, p.grad(l.lora_a), l.in);
  }
  if (!dx) return;
  if (!drop) {
    Sgemm(false, false, n, l.in, l.r, 1.0f, dh, l.r, p.value(l.lora_a), l.in, 1.0f, dx, lddx);
    return;
  }
  Sgemm(false, false, n, l.in, l.r, 1.0f, dh, l.r, p.value(l.lora_a), l.in, 0.0f, dxd, l.in);
  // The same mask on the way back: Dropout of dxd is dxd * keep / (1 - p).
  Dropout(l, s, n, dxd, l.in, xd_buf, l.in);
  ParallelFor(n, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int c = 0; c < l.in; ++c) dx[r * lddx + c] += xd_buf[r * l.in + c];
  });
}

}  // namespace egret::trainer::detail
