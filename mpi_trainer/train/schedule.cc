#include "mpi_trainer/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace egret::train {

double LearningRate(const ScheduleConfig& s, double lr, int64_t step, int64_t total_steps) {
  // Step 1 already learns (lr/warmup): unlike a schedule that starts at 0, no step is wasted.
  if (step <= s.warmup_steps) return lr * static_cast<double>(step) / static_cast<double>(s.warmup_steps);
  if (s.kind == ScheduleKind::kConstant) return lr;
  int64_t decay_steps = std::max<int64_t>(1, total_steps - s.warmup_steps);
  double progress = std::clamp(static_cast<double>(step - s.warmup_steps) / static_cast<double>(decay_steps), 0.0, 1.0);
  double factor = s.kind == ScheduleKind::kCosine ? 0.5 * (1.0 + std::cos(M_PI * progress)) : 1.0 - progress;
  return s.min_lr + (lr - s.min_lr) * factor;
}

}  // namespace egret::train
