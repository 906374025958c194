// Causal multi-head attention with grouped KV heads, per-query key ranges (packed documents
// and sliding windows) and a flash-style backward: the forward keeps only the log-sum-exp of
// each query row; the backward recomputes the probabilities block by block. Blocks are
// computed with GEMMs, one (row, head) task per thread.
#pragma once

#include <cstdint>

namespace egret::trainer {

struct AttentionShape {
  int rows = 0;       // sequences in the batch
  int q_len = 0;      // queries per row
  int kv_len = 0;     // keys per row (>= q_off + q_len)
  int q_off = 0;      // key index of query 0 (a KV cache holds earlier keys)
  int heads = 0, kv_heads = 0, head_dim = 0;
  int ldq = 0, ldk = 0, ldv = 0, ldo = 0;  // floats between consecutive tokens
  float scale = 1.0f;
};

// Query t of row b (key index q_off + t) attends keys [start[b * q_len + t], q_off + t].
// q/k/v/out point at head 0 of token 0; a head is head_dim consecutive floats.
// lse (rows * heads * q_len) may be null when no backward follows.
void AttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v,
                      const int32_t* start, float* out, float* lse);

// dq is overwritten; dk and dv (same layout as k and v) are overwritten too.
void AttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v,
                       const float* out, const float* lse, const float* dout,
                       const int32_t* start, float* dq, float* dk, float* dv, int ldd_q,
                       int ldd_kv);

}  // namespace egret::trainer
