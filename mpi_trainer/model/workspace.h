// Activations and scratch of a step (internal to the model library), and the transformer
// block's forward and backward over them.
#pragma once

#include <cstdint>
#include <vector>

#include "mpi_trainer/io/model_config.h"
#include "mpi_trainer/model/kernels.h"
#include "mpi_trainer/model/net.h"

namespace egret::trainer::detail {

// Grows v to at least n floats (never shrinks, so steps of the same shape reuse memory).
inline float* Ensure(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// What one block keeps for its backward.
struct LayerActs {
  std::vector<float> x_mid;                  // residual after attention [n, hidden]
  std::vector<float> ln1, ln1_mean, ln1_rstd;
  std::vector<float> qkv;                    // q | k | v after q/k norm and RoPE [n, qkv_dim]
  std::vector<float> qk_raw, q_rstd, k_rstd; // Qwen3: q/k before their norm
  std::vector<float> att, lse;               // attention output [n, q_dim], log-sum-exp
  std::vector<float> ln2, ln2_mean, ln2_rstd;
  std::vector<float> mlp_pre;                // c_fc output, or gate | up [n, 2 * inter]
  std::vector<std::vector<float>> lora_h;    // per adapter of this block: x A^T [n, r]
};

struct KvCache {
  int len = 0;  // positions filled
  int capacity = 0;
  std::vector<std::vector<float>> k, v;  // per layer [capacity, kv_dim]
};

struct Workspace {
  std::vector<std::vector<float>> x_in;  // block inputs [layers + 1][n, hidden]; last = output
  std::vector<LayerActs> acts;
  std::vector<float> lnf, lnf_mean, lnf_rstd;
  std::vector<int32_t> doc_start;
  std::vector<std::vector<int32_t>> start;  // per layer (window), empty: doc_start
  kernels::RopeTable rope;
  // Scratch shared by all blocks.
  std::vector<float> mlp_act, dres, dln, dqkv, datt, dmlp_act, dmlp_pre, linear_scratch;
  std::vector<float> logits, hchunk, dhchunk;
};

struct StepContext {
  const ModelConfig& cfg;
  ParamStore& params;
  const Net& net;
  Workspace& ws;
  int rows = 0, seq = 0;      // n = rows * seq tokens (with a cache: rows = 1)
  int n = 0;
  const int32_t* positions = nullptr;
  bool dropout_on = false;
  uint64_t seed = 0, counter = 0;
};

int QkvDim(const ModelConfig& c);
int MlpPreDim(const ModelConfig& c);  // inter (GPT-2) or 2 * inter (gated)
// Key range starts per token: doc_start[i] is the first index of i's document in its row.
void DocStarts(int rows, int seq, const int32_t* doc_ids, int32_t* out);
void WindowStarts(int rows, int seq, int window, const int32_t* doc_start, int32_t* out);
void EnsureRope(const ModelConfig& cfg, int max_pos, kernels::RopeTable* t);

// One block. x is its input, x_mid and x_out its outputs (x_out may alias x when no backward
// follows). With a cache, keys/values are appended at cache->len and attention spans the
// cache (rows must be 1).
void BlockForward(StepContext& c, int layer, const float* x, float* x_mid, float* x_out,
                  LayerActs& a, const int32_t* start, KvCache* cache);
// dres holds d(x_out) on entry and d(x) on return; need_dx = false skips d(x).
void BlockBackward(StepContext& c, int layer, const float* x, LayerActs& a,
                   const int32_t* start, float* dres, bool need_dx);

}  // namespace egret::trainer::detail
