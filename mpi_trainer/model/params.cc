#include "mpi_trainer/model/params.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace egret::trainer {

namespace {
constexpr size_t kAlignFloats = 16;  // 64 bytes
size_t RoundUp(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }
}  // namespace

float* AllocateFloats(size_t n) {
  if (n == 0) return nullptr;
  void* p = mmap(nullptr, n * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "egret: out of memory allocating %zu MiB\n", n * sizeof(float) >> 20);
    std::abort();
  }
  return static_cast<float*>(p);
}

void FreeFloats(float* p, size_t n) {
  if (p) munmap(p, n * sizeof(float));
}

ParamStore::~ParamStore() {
  FreeFloats(values_, capacity_);
  FreeFloats(grads_, capacity_);
}

void ParamStore::Grow(size_t new_capacity) {
  float* v = AllocateFloats(new_capacity);
  if (values_) std::memcpy(v, values_, size_ * sizeof(float));
  FreeFloats(values_, capacity_);
  values_ = v;
  if (grads_) {
    float* g = AllocateFloats(new_capacity);
    for (const auto& p : infos_)
      if (p.trainable) std::memcpy(g + p.offset, grads_ + p.offset, p.numel * sizeof(float));
    FreeFloats(grads_, capacity_);
    grads_ = g;
  }
  capacity_ = new_capacity;
}

int ParamStore::Add(const std::string& name, std::vector<int64_t> shape, bool trainable) {
  ParamInfo p;
  p.name = name;
  p.numel = 1;
  for (int64_t d : shape) p.numel *= static_cast<size_t>(d);
  p.shape = std::move(shape);
  p.offset = size_;
  p.trainable = trainable;
  size_t end = p.offset + RoundUp(p.numel);
  if (end > capacity_) Grow(std::max(end, capacity_ + capacity_ / 2));
  size_ = end;
  index_[name] = static_cast<int>(infos_.size());
  infos_.push_back(std::move(p));
  return static_cast<int>(infos_.size()) - 1;
}

int ParamStore::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

int64_t ParamStore::CountParams(bool trainable_only) const {
  int64_t n = 0;
  for (const auto& p : infos_)
    if (!trainable_only || p.trainable) n += static_cast<int64_t>(p.numel);
  return n;
}

float* ParamStore::grads() {
  if (!grads_ && capacity_) grads_ = AllocateFloats(capacity_);
  return grads_;
}

void ParamStore::ZeroGrads() {
  if (!grads_) return;
  for (const auto& p : infos_)
    if (p.trainable) std::memset(grads_ + p.offset, 0, p.numel * sizeof(float));
}

}  // namespace egret::trainer
