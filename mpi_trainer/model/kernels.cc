#include "mpi_trainer/model/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/model/vmath.h"

namespace egret::trainer::kernels {

namespace {

constexpr int64_t kRowGrain = 16;         // rows per piece for per-row kernels
constexpr int64_t kElemGrain = 1 << 15;   // elements per piece for elementwise kernels

// Sums per-row contributions into out[dim] (+=). Rows are cut into fixed chunks whose partial
// sums are added in chunk order, so the result is the same for any thread count.
template <typename RowFn>
void ReduceRows(int rows, int dim, float* out, RowFn row_fn) {
  constexpr int kChunk = 64;
  const int chunks = (rows + kChunk - 1) / kChunk;
  thread_local std::vector<float> partial;
  partial.assign(static_cast<size_t>(chunks) * dim, 0.0f);
  float* base = partial.data();
  ParallelTasks(chunks, [&](int64_t c) {
    float* acc = base + static_cast<size_t>(c) * dim;
    const int end = std::min<int>(rows, static_cast<int>(c + 1) * kChunk);
    for (int r = static_cast<int>(c) * kChunk; r < end; ++r) row_fn(r, acc);
  });
  for (int c = 0; c < chunks; ++c) {
    const float* p = base + static_cast<size_t>(c) * dim;
#pragma omp simd
    for (int d = 0; d < dim; ++d) out[d] += p[d];
  }
}

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;

inline float Act(Activation a, float x) {
  switch (a) {
    case Activation::kSilu: return x * SigmoidF(x);
    case Activation::kGeluTanh:
      return 0.5f * x * (1.0f + TanhF(kSqrt2OverPi * (x + kGeluC * x * x * x)));
    case Activation::kGeluErf: return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
    case Activation::kRelu: return x > 0 ? x : 0.0f;
  }
  return x;
}

inline float ActGrad(Activation a, float x) {
  switch (a) {
    case Activation::kSilu: {
      const float s = SigmoidF(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case Activation::kGeluTanh: {
      const float t = TanhF(kSqrt2OverPi * (x + kGeluC * x * x * x));
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x * x);
    }
    case Activation::kGeluErf:
      return 0.5f * (1.0f + std::erf(x * 0.7071067811865476f)) +
             x * 0.3989422804014327f * std::exp(-0.5f * x * x);
    case Activation::kRelu: return x > 0 ? 1.0f : 0.0f;
  }
  return 1.0f;
}

// The activation is a template parameter so each loop is specialised and vectorised.
template <Activation A>
void ActLoop(int64_t b, int64_t e, const float* x, float* y) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) y[i] = Act(A, x[i]);
}
template <Activation A>
void ActGradLoop(int64_t b, int64_t e, const float* x, const float* dy, float* dx) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * ActGrad(A, x[i]);
}
template <Activation A>
void GatedRow(int f, const float* g, const float* u, float* y) {
#pragma omp simd
  for (int i = 0; i < f; ++i) y[i] = Act(A, g[i]) * u[i];
}
template <Activation A>
void GatedGradRow(int f, const float* g, const float* u, const float* d, float* dg, float* du) {
#pragma omp simd
  for (int i = 0; i < f; ++i) {
    dg[i] = d[i] * u[i] * ActGrad(A, g[i]);
    du[i] = d[i] * Act(A, g[i]);
  }
}

template <template <Activation> class Op, typename... Args>
void Dispatch(Activation a, Args... args) {
  switch (a) {
    case Activation::kSilu: Op<Activation::kSilu>::Run(args...); break;
    case Activation::kGeluTanh: Op<Activation::kGeluTanh>::Run(args...); break;
    case Activation::kGeluErf: Op<Activation::kGeluErf>::Run(args...); break;
    case Activation::kRelu: Op<Activation::kRelu>::Run(args...); break;
  }
}
template <Activation A> struct ActOp { static void Run(int64_t b, int64_t e, const float* x, float* y) { ActLoop<A>(b, e, x, y); } };
template <Activation A> struct ActGradOp {
  static void Run(int64_t b, int64_t e, const float* x, const float* dy, float* dx) { ActGradLoop<A>(b, e, x, dy, dx); }
};
template <Activation A> struct GatedOp { static void Run(int f, const float* g, const float* u, float* y) { GatedRow<A>(f, g, u, y); } };
template <Activation A> struct GatedGradOp {
  static void Run(int f, const float* g, const float* u, const float* d, float* dg, float* du) {
    GatedGradRow<A>(f, g, u, d, dg, du);
  }
};

}  // namespace

void RmsNormForward(const RowLayout& l, const float* x, const float* w, float eps, float* y,
                    float* rstd) {
  const int64_t rows = static_cast<int64_t>(l.n) * l.heads;
  ParallelFor(rows, kRowGrain * l.heads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const long off = (r / l.heads) * l.ld + (r % l.heads) * l.dim;
      const float* xr = x + off;
      float* yr = y + off;
      float ss = 0;
#pragma omp simd reduction(+ : ss)
      for (int d = 0; d < l.dim; ++d) ss += xr[d] * xr[d];
      const float rs = 1.0f / std::sqrt(ss / static_cast<float>(l.dim) + eps);
      rstd[r] = rs;
#pragma omp simd
      for (int d = 0; d < l.dim; ++d) yr[d] = w[d] * (xr[d] * rs);
    }
  });
}

void RmsNormBackward(const RowLayout& l, const float* x, const float* w, const float* rstd,
                     const float* dy, float* dx, float* dw, bool accumulate) {
  const int64_t rows = static_cast<int64_t>(l.n) * l.heads;
  const float inv_dim = 1.0f / static_cast<float>(l.dim);
  // dw first: dx may overwrite dy in place.
  if (dw) {
    ReduceRows(static_cast<int>(rows), l.dim, dw, [&](int r, float* acc) {
      const long off = (r / l.heads) * l.ld + (r % l.heads) * l.dim;
      const float *xr = x + off, *dyr = dy + off;
      const float rs = rstd[r];
#pragma omp simd
      for (int d = 0; d < l.dim; ++d) acc[d] += dyr[d] * xr[d] * rs;
    });
  }
  if (!dx) return;
  ParallelFor(rows, kRowGrain * l.heads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const long off = (r / l.heads) * l.ld + (r % l.heads) * l.dim;
      const float *xr = x + off, *dyr = dy + off;
      float* dxr = dx + off;
      const float rs = rstd[r];
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int d = 0; d < l.dim; ++d) s += w[d] * dyr[d] * xr[d];
      const float c = rs * rs * rs * s * inv_dim;
      if (accumulate) {
#pragma omp simd
        for (int d = 0; d < l.dim; ++d) dxr[d] += rs * w[d] * dyr[d] - c * xr[d];
      } else {
#pragma omp simd
        for (int d = 0; d < l.dim; ++d) dxr[d] = rs * w[d] * dyr[d] - c * xr[d];
      }
    }
  });
}

void LayerNormForward(int n, int dim, const float* x, const float* w, const float* b, float eps,
                      float* y, float* mean, float* rstd) {
  ParallelFor(n, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int d = 0; d < dim; ++d) s += xr[d];
      const float m = s / static_cast<float>(dim);
      float v = 0;
#pragma omp simd reduction(+ : v)
      for (int d = 0; d < dim; ++d) v += (xr[d] - m) * (xr[d] - m);
      const float rs = 1.0f / std::sqrt(v / static_cast<float>(dim) + eps);
      mean[r] = m;
      rstd[r] = rs;
#pragma omp simd
      for (int d = 0; d < dim; ++d) yr[d] = (xr[d] - m) * rs * w[d] + b[d];
    }
  });
}

void LayerNormBackward(int n, int dim, const float* x, const float* w, const float* mean,
                       const float* rstd, const float* dy, float* dx, float* dw, float* db,
                       bool accumulate) {
  const float inv_dim = 1.0f / static_cast<float>(dim);
  if (dw) {
    ReduceRows(n, dim, dw, [&](int r, float* acc) {
      const float *xr = x + static_cast<long>(r) * dim, *dyr = dy + static_cast<long>(r) * dim;
      const float m = mean[r], rs = rstd[r];
#pragma omp simd
      for (int d = 0; d < dim; ++d) acc[d] += dyr[d] * (xr[d] - m) * rs;
    });
  }
  if (db) BiasBackward(n, dim, dy, dim, db);
  if (!dx) return;
  ParallelFor(n, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *xr = x + r * dim, *dyr = dy + r * dim;
      float* dxr = dx + r * dim;
      const float m = mean[r], rs = rstd[r];
      float s1 = 0, s2 = 0;  // mean(dxhat), mean(dxhat * xhat)
#pragma omp simd reduction(+ : s1, s2)
      for (int d = 0; d < dim; ++d) {
        const float g = dyr[d] * w[d];
        s1 += g;
        s2 += g * (xr[d] - m) * rs;
      }
      s1 *= inv_dim;
      s2 *= inv_dim;
#pragma omp simd
      for (int d = 0; d < dim; ++d) {
        const float xhat = (xr[d] - m) * rs;
        const float v = rs * (dyr[d] * w[d] - s1 - xhat * s2);
        dxr[d] = accumulate ? dxr[d] + v : v;
      }
    }
  });
}

void ActivationForward(Activation a, int64_t n, const float* x, float* y) {
  ParallelFor(n, kElemGrain, [&](int64_t b, int64_t e) { Dispatch<ActOp>(a, b, e, x, y); });
}

void ActivationBackward(Activation a, int64_t n, const float* x, const float* dy, float* dx) {
  ParallelFor(n, kElemGrain, [&](int64_t b, int64_t e) { Dispatch<ActGradOp>(a, b, e, x, dy, dx); });
}

void GatedForward(Activation a, int rows, int f, const float* gu, float* y) {
  ParallelFor(rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = gu + r * 2 * f;
      Dispatch<GatedOp>(a, f, g, g + f, y + r * f);
    }
  });
}

void GatedBackward(Activation a, int rows, int f, const float* gu, const float* dy, float* dgu) {
  ParallelFor(rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = gu + r * 2 * f;
      float* dg = dgu + r * 2 * f;
      Dispatch<GatedGradOp>(a, f, g, g + f, dy + r * f, dg, dg + f);
    }
  });
}

void BuildRope(const RopeConfig& r, int head_dim, int max_pos, RopeTable* t) {
  const int half = head_dim / 2;
  std::vector<float> inv(half);
  const float theta = static_cast<float>(r.theta);
  for (int i = 0; i < half; ++i)
    inv[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  if (r.type == RopeType::kLinear) {
    for (float& f : inv) f /= static_cast<float>(r.factor);
  } else if (r.type == RopeType::kLlama3) {
    // transformers' _compute_llama3_parameters, in fp32 like the torch tensors there.
    const float factor = static_cast<float>(r.factor);
    const double old_len = r.original_max_position_embeddings;
    const float low_wavelen = static_cast<float>(old_len / r.low_freq_factor);
    const float high_wavelen = static_cast<float>(old_len / r.high_freq_factor);
    for (float& f : inv) {
      const float wavelen = static_cast<float>(2 * M_PI) / f;
      float scaled = wavelen > low_wavelen ? f / factor : f;
      const float smooth = (static_cast<float>(old_len) / wavelen - static_cast<float>(r.low_freq_factor)) /
                           static_cast<float>(r.high_freq_factor - r.low_freq_factor);
      const float smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
      const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      f = medium ? smoothed : scaled;
    }
  }
  t->half = half;
  t->max_pos = max_pos;
  t->cos.resize(static_cast<size_t>(max_pos) * half);
  t->sin.resize(static_cast<size_t>(max_pos) * half);
  for (int p = 0; p < max_pos; ++p)
    for (int i = 0; i < half; ++i) {
      const float a = inv[i] * static_cast<float>(p);
      t->cos[static_cast<size_t>(p) * half + i] = std::cos(a);
      t->sin[static_cast<size_t>(p) * half + i] = std::sin(a);
    }
}

void ApplyRope(const RopeTable& t, int n, int heads, int head_dim, int ld, const int32_t* pos,
               float* x, bool inverse) {
  const int half = t.half;
  const float sign = inverse ? -1.0f : 1.0f;
  ParallelFor(n, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* c = t.cos.data() + static_cast<size_t>(pos[r]) * half;
      const float* s = t.sin.data() + static_cast<size_t>(pos[r]) * half;
      for (int h = 0; h < heads; ++h) {
        float* v = x + r * ld + h * head_dim;
#pragma omp simd
        for (int i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half], si = sign * s[i];
          v[i] = a * c[i] - b * si;
          v[i + half] = b * c[i] + a * si;
        }
      }
    }
  });
}

void AddBias(int rows, int cols, const float* b, float* y, int ld) {
  ParallelFor(rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* yr = y + r * ld;
#pragma omp simd
      for (int c = 0; c < cols; ++c) yr[c] += b[c];
    }
  });
}

void BiasBackward(int rows, int cols, const float* dy, int ld, float* db) {
  ReduceRows(rows, cols, db, [&](int r, float* acc) {
    const float* d = dy + static_cast<long>(r) * ld;
#pragma omp simd
    for (int c = 0; c < cols; ++c) acc[c] += d[c];
  });
}

void EmbeddingForward(int n, int dim, const int32_t* tok, const float* wte, const int32_t* pos,
                      const float* wpe, float* x) {
  ParallelFor(n, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* xr = x + r * dim;
      const float* e = wte + static_cast<long>(tok[r]) * dim;
      if (wpe) {
        const float* p = wpe + static_cast<long>(pos[r]) * dim;
#pragma omp simd
        for (int d = 0; d < dim; ++d) xr[d] = e[d] + p[d];
      } else {
        std::memcpy(xr, e, sizeof(float) * dim);
      }
    }
  });
}

void EmbeddingBackward(int n, int dim, const int32_t* ids, const float* dx, float* dw) {
  // A task owns a block of columns and walks every row in order: no races, and each
  // element's sum is taken in row order whatever the thread count.
  constexpr int kCols = 64;
  const int blocks = (dim + kCols - 1) / kCols;
  ParallelTasks(blocks, [&](int64_t blk) {
    const int c0 = static_cast<int>(blk) * kCols, c1 = std::min(dim, c0 + kCols);
    for (int r = 0; r < n; ++r) {
      float* w = dw + static_cast<long>(ids[r]) * dim;
      const float* d = dx + static_cast<long>(r) * dim;
#pragma omp simd
      for (int c = c0; c < c1; ++c) w[c] += d[c];
    }
  });
}

void Add(int64_t n, const float* x, float* y) {
  ParallelFor(n, kElemGrain, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) y[i] += x[i];
  });
}

}  // namespace egret::trainer::kernels
