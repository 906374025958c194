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

void GradientRuns::CopyOut(float* dst) const {
  for (const auto& [p, n] : runs_) {
    std::copy(p, p + n, dst);
    dst += n;
  }
}

void GradientRuns::CopyIn(const float* src) {
  for (auto& [p, n] : runs_) {
    std::copy(src, src + n, p);
    src += n;
  }
}

void TreeSum::Push(const GradientRuns& runs) {
  std::vector<float> buf;
  if (!spare_.empty()) {
    buf = std::move(spare_.back());
    spare_.pop_back();
  }
  buf.resize(n_);
  runs.CopyOut(buf.data());
  stack_.emplace_back(0, std::move(buf));
  // Merge equal levels: after 2^k pushes the stack holds one sum of a complete subtree.
  while (stack_.size() >= 2 && stack_[stack_.size() - 1].first == stack_[stack_.size() - 2].first) {
    auto right = std::move(stack_.back());
    stack_.pop_back();
    auto& left = stack_.back();
    for (size_t i = 0; i < n_; ++i) left.second[i] += right.second[i];
    ++left.first;
    spare_.push_back(std::move(right.second));
  }
}

void TreeSum::Finish(GradientRuns& runs) {
  if (stack_.empty()) return;
  // Incomplete trees (a count that is not a power of two) are added largest first.
  auto& total = stack_.front().second;
  for (size_t k = 1; k < stack_.size(); ++k)
    for (size_t i = 0; i < n_; ++i) total[i] += stack_[k].second[i];
  runs.CopyIn(total.data());
  for (auto& e : stack_) spare_.push_back(std::move(e.second));
  stack_.clear();
}

}  // namespace egret::train
