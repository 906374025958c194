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
  // Copies the trainable gradients to/from a packed buffer of floats() values.
  void CopyOut(float* dst) const;
  void CopyIn(const float* src);

 private:
  std::vector<std::pair<float*, size_t>> runs_;
};

// Sums the gradients of a rank's micro-batches as a balanced binary tree in micro-batch order
// ((g0 + g1) + (g2 + g3) ...), so that the all-reduce over ranks completes the same tree: one
// rank accumulating 4 micro-batches and two ranks accumulating 2 each add the same numbers in
// the same order, and their results are bitwise equal.
class TreeSum {
 public:
  explicit TreeSum(size_t n) : n_(n) {}
  // Adds the micro-batch gradient currently in RUNS.
  void Push(const GradientRuns& runs);
  // Writes the sum into RUNS.
  void Finish(GradientRuns& runs);

 private:
  size_t n_;
  std::vector<std::pair<int, std::vector<float>>> stack_;  // (level, partial sum)
  std::vector<std::vector<float>> spare_;
};

}  // namespace egret::train
