#include "mpi_trainer/optim/adamw.h"

#include <cmath>

#include "mpi_trainer/model/threads.h"

namespace egret::trainer {

bool DefaultDecays(const ParamInfo& p) {
  const std::string& n = p.name;
  auto ends = [&](const char* s) {
    const std::string t(s);
    return n.size() >= t.size() && n.compare(n.size() - t.size(), t.size(), t) == 0;
  };
  if (ends(".bias")) return false;
  return n.find("norm") == std::string::npos && n.find(".ln_") == std::string::npos;
}

AdamW::AdamW(ParamStore& params, AdamWConfig config, bool (*decays)(const ParamInfo&))
    : params_(params), config_(config) {
  size_t total = 0;
  for (int i = 0; i < params.count(); ++i) {
    const ParamInfo& p = params.info(i);
    if (!p.trainable) continue;
    slots_.push_back({i, total, decays(p)});
    total += p.numel;
  }
  m_.assign(total, 0.0f);
  v_.assign(total, 0.0f);
}

void AdamW::Step(float lr) {
  ++step_;
  const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.eps;
  const double bc1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(step_));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  float* grads = params_.grads();
  for (const Slot& s : slots_) {
    const ParamInfo& info = params_.info(s.param);
    float* p = params_.values() + info.offset;
    const float* g = grads + info.offset;
    float* m = m_.data() + s.offset;
    float* v = v_.data() + s.offset;
    const float decay = s.decay ? 1.0f - lr * config_.weight_decay : 1.0f;
    ParallelFor(static_cast<int64_t>(info.numel), 1 << 14, [&](int64_t b, int64_t e) {
#pragma omp simd
      for (int64_t i = b; i < e; ++i) {
        const float gi = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
      }
    });
  }
}

}  // namespace egret::trainer
