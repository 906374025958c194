// The model's structure as parameter indices into its ParamStore (internal to the model
// library). Linear layers keep their HF module path, which names their tensors and is what
// LoRA target patterns match.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mpi_trainer/model/params.h"

namespace egret::trainer::detail {

struct Linear {
  std::string module;   // e.g. "model.layers.0.self_attn.q_proj", "transformer.h.0.attn.c_attn"
  int in = 0, out = 0;
  bool conv1d = false;  // GPT-2 Conv1D: weight stored [in, out]; nn.Linear: [out, in]
  int w = -1, b = -1;
  int col = 0;          // first column of its output inside the shared activation
  // LoRA (lora_a < 0: none). A [r, in], B [out, r].
  int lora_a = -1, lora_b = -1, r = 0;
  float scale = 0, dropout = 0;
  int lora_id = -1;     // index into the saved adapter activations
};

struct Layer {
  int ln1_w = -1, ln1_b = -1, ln2_w = -1, ln2_b = -1;
  int q_norm = -1, k_norm = -1;  // Qwen3
  std::vector<Linear> attn_in;   // GPT-2 {c_attn}; others {q_proj, k_proj, v_proj} into qkv
  Linear o;
  std::vector<Linear> mlp_in;    // GPT-2 {c_fc}; others {gate_proj, up_proj} into [gate | up]
  Linear down;
  int window = 0;                // 0: full causal attention
  float attn_scale = 1.0f;
};

struct Net {
  int wte = -1, wpe = -1, lnf_w = -1, lnf_b = -1;
  int lm_head = -1;  // -1: tied to wte
  std::vector<Layer> layers;
  int lora_count = 0;

  // Every linear layer, in model order (for LoRA matching and export).
  template <typename F>
  void ForEachLinear(F f) {
    for (auto& l : layers) {
      for (auto& x : l.attn_in) f(x);
      f(l.o);
      for (auto& x : l.mlp_in) f(x);
      f(l.down);
    }
  }
  template <typename F>
  void ForEachLinear(F f) const {
    for (const auto& l : layers) {
      for (const auto& x : l.attn_in) f(x);
      f(l.o);
      for (const auto& x : l.mlp_in) f(x);
      f(l.down);
    }
  }
};

// Linear forward/backward (linear.cc). x: [n, in] with leading dimension ldx; y: [n, out]
// written at column l.col of a buffer with leading dimension ldy.
struct LoraSaved {
  float* h = nullptr;         // [n, r] = dropout(x) A^T, kept for the backward
  uint64_t seed = 0, counter = 0;
  bool dropout_on = false;
};

void LinearForward(const ParamStore& p, const Linear& l, int n, const float* x, int ldx,
                   float* y, int ldy, const LoraSaved& lora, float* scratch);
// Accumulates weight/bias/adapter gradients of trainable params; writes (or adds, with
// accumulate) dx when dx != nullptr. scratch holds n * (in + r) floats.
void LinearBackward(ParamStore& p, const Linear& l, int n, const float* x, int ldx,
                    const float* dy, int ldy, float* dx, int lddx, bool accumulate,
                    const LoraSaved& lora, float* scratch);
size_t LinearScratch(const Linear& l, int n);

}  // namespace egret::trainer::detail
