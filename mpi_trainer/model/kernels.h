// Elementwise and per-row kernels of the transformer block, forward and backward, threaded
// with OpenMP. Tensors are row-major [rows, cols] with a leading dimension (ld) so they can
// address column slices of wider activations (q/k/v inside one qkv buffer). Weight and bias
// gradients are accumulated (+=) with a column partition, never with atomics, so results do
// not depend on scheduling.
#pragma once

#include <cstdint>
#include <vector>

#include "mpi_trainer/io/model_config.h"

namespace egret::trainer::kernels {

// Normalisation over `dim` features of each of n rows. A row is `heads` groups of `dim`
// features at x + row * ld + head * dim (heads > 1: Qwen3's per-head q_norm/k_norm).
struct RowLayout {
  int n = 0;      // rows (tokens)
  int heads = 1;  // groups per row
  int dim = 0;    // features per group
  int ld = 0;     // floats between rows
};

// RMSNorm as HF: y = w * (x * rsqrt(mean(x^2) + eps)); saves rstd[n * heads].
void RmsNormForward(const RowLayout& l, const float* x, const float* w, float eps, float* y,
                    float* rstd);
// dx = (or +=, with accumulate) d/dx, may alias dy; dw += sum over rows (nullptr: skip).
void RmsNormBackward(const RowLayout& l, const float* x, const float* w, const float* rstd,
                     const float* dy, float* dx, float* dw, bool accumulate);

// LayerNorm (biased variance): y = (x - mean) * rstd * w + b.
void LayerNormForward(int n, int dim, const float* x, const float* w, const float* b, float eps,
                      float* y, float* mean, float* rstd);
void LayerNormBackward(int n, int dim, const float* x, const float* w, const float* mean,
                       const float* rstd, const float* dy, float* dx, float* dw, float* db,
                       bool accumulate);

// Activations: y = act(x) for n values; dx = dy * act'(x).
void ActivationForward(Activation a, int64_t n, const float* x, float* y);
// Gated MLP (Llama SwiGLU): y[r, :] = act(gate[r, :]) * up[r, :], gate/up as slices of gu
// ([rows, 2 * f]: gate in columns [0, f), up in [f, 2f)).
void GatedForward(Activation a, int rows, int f, const float* gu, float* y);
// dgu from dy; gu is the saved pre-activation.
void GatedBackward(Activation a, int rows, int f, const float* gu, const float* dy, float* dgu);
void ActivationBackward(Activation a, int64_t n, const float* x, const float* dy, float* dx);

// RoPE tables for positions [0, max_pos): cos/sin [max_pos, head_dim / 2], computed as HF does
// in fp32 (inv_freq with linear or llama3 scaling).
struct RopeTable {
  int half = 0;
  int max_pos = 0;
  std::vector<float> cos, sin;
};
void BuildRope(const RopeConfig& r, int head_dim, int max_pos, RopeTable* t);
// Rotates `heads` heads of head_dim in each row (rotate_half layout: pairs (i, i + half)).
// inverse = true applies the transpose (the backward of the rotation).
void ApplyRope(const RopeTable& t, int n, int heads, int head_dim, int ld, const int32_t* pos,
               float* x, bool inverse);

// y[r, :] += b; db[:] += sum_r dy[r, :].
void AddBias(int rows, int cols, const float* b, float* y, int ld);
void BiasBackward(int rows, int cols, const float* dy, int ld, float* db);

// x[i] = wte[tok[i]] (+ wpe[pos[i]]); backward scatters rows into dwte/dwpe by column blocks.
void EmbeddingForward(int n, int dim, const int32_t* tok, const float* wte, const int32_t* pos,
                      const float* wpe, float* x);
void EmbeddingBackward(int n, int dim, const int32_t* ids, const float* dx, float* dw);

// y += x (n floats).
void Add(int64_t n, const float* x, float* y);

}  // namespace egret::trainer::kernels
