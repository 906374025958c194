// AdamW (Loshchilov & Hutter) exactly as torch.optim.AdamW computes it, over the trainable
// parameters of a ParamStore:
//   p *= 1 - lr * wd                      (decoupled weight decay, decaying params only)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The moments of each parameter live in two buffers laid out like the trainable parameters,
// so checkpoints can save them by parameter name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mpi_trainer/model/params.h"

namespace egret::trainer {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

// HF Trainer's convention: biases and norm weights are not decayed.
bool DefaultDecays(const ParamInfo& p);

class AdamW {
 public:
  // Covers the params trainable now; decays those for which decays(p) is true.
  AdamW(ParamStore& params, AdamWConfig config, bool (*decays)(const ParamInfo&) = DefaultDecays);

  // One update with learning rate lr from the gradients in params.grads().
  void Step(float lr);

  int64_t step() const { return step_; }
  void set_step(int64_t s) { step_ = s; }
  const AdamWConfig& config() const { return config_; }

  // Moment views for checkpoints: entry i covers parameter param_index(i).
  int size() const { return static_cast<int>(slots_.size()); }
  int param_index(int i) const { return slots_[i].param; }
  float* m(int i) { return m_.data() + slots_[i].offset; }
  float* v(int i) { return v_.data() + slots_[i].offset; }

 private:
  struct Slot {
    int param;
    size_t offset;
    bool decay;
  };
  ParamStore& params_;
  AdamWConfig config_;
  std::vector<Slot> slots_;
  std::vector<float> m_, v_;
  int64_t step_ = 0;
};

}  // namespace egret::trainer
