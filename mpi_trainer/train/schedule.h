// The learning-rate schedule: linear warmup from lr/warmup to lr over warmup_steps, then
// cosine or linear decay to min_lr at the last step (or constant). A pure function of the
// step, so a resumed run needs only the step to continue exactly.
#pragma once

#include <cstdint>

#include "mpi_trainer/train/job_config.h"

namespace egret::train {

// The rate for optimizer step STEP (1-based, 1..total_steps).
double LearningRate(const ScheduleConfig& s, double lr, int64_t step, int64_t total_steps);

}  // namespace egret::train
