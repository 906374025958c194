// The trainable part of a model's gradient buffer, as a few contiguous runs (LoRA adapters
// sit together, full fine-tuning is one run), for the all-reduce, the global norm and clipping.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "mpi_trainer/dist/comm.h"
#include "mpi_trainer/model/params.h"

namespace egret::train {

class GradientRuns {
 public:
  explicit GradientRuns(trainer::ParamStore& ps);
  void AllReduce(trainer::Communicator& comm);
  // L2 norm over every trainable gradient, accumulated in double in a fixed order.
  double Norm() const;
  void Scale(float s);
  size_t floats() const;

 private:
  std::vector<std::pair<float*, size_t>> runs_;
};

}  // namespace egret::train
