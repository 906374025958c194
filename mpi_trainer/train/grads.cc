#include "mpi_trainer/train/grads.h"

#include <algorithm>
#include <cmath>

namespace egret::train {

GradientRuns::GradientRuns(trainer::ParamStore& ps) {
  std::vector<int> order(static_cast<size_t>(ps.count()));
  for (int i = 0; i < ps.count(); ++i) order[static_cast<size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return ps.info(a).offset < ps.info(b).offset; });
  float* base = ps.grads();
  size_t begin = 0, end = 0;
  bool open = false;
  // A run spans consecutive trainable parameters (alignment padding between them is zero in
  // the gradient buffer, so summing it is harmless); a frozen parameter ends it.
  for (int i : order) {
    const auto& p = ps.info(i);
    if (!p.trainable) {
      if (open) runs_.emplace_back(base + begin, end - begin);
      open = false;
      continue;
    }
    if (!open) begin = p.offset;
    open = true;
    end = p.offset + p.numel;
  }
  if (open) runs_.emplace_back(base + begin, end - begin);
}

void GradientRuns::AllReduce(trainer::Communicator& comm) {
  for (auto& [p, n] : runs_) comm.AllReduceSum(p, n);
}

double GradientRuns::Norm() const {
  double sum = 0;
  for (const auto& [p, n] : runs_)
    for (size_t i = 0; i < n; ++i) sum += static_cast<double>(p[i]) * static_cast<double>(p[i]);
  return std::sqrt(sum);
}

void GradientRuns::Scale(float s) {
  for (auto& [p, n] : runs_)
    for (size_t i = 0; i < n; ++i) p[i] *= s;
}

size_t GradientRuns::floats() const {
  size_t n = 0;
  for (const auto& r : runs_) n += r.second;
  return n;
}

}  // namespace egret::train
