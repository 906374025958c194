// All parameters of a model in ONE contiguous fp32 buffer, with named views that keep the
// Hugging Face tensor names (PEFT names for LoRA adapters), so import and export are a name
// map. Gradients live in a second buffer with the same layout.
//
// Both buffers are anonymous mappings: pages are committed only when written, so the grad
// buffer of a LoRA run costs memory only for the adapters (frozen params' grads are never
// touched). Every view starts 64-byte aligned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace egret::trainer {

struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;  // in floats, into values() and grads()
  size_t numel = 0;
  bool trainable = true;
};

class ParamStore {
 public:
  ParamStore() = default;
  ~ParamStore();
  ParamStore(const ParamStore&) = delete;
  ParamStore& operator=(const ParamStore&) = delete;

  // Adds a zero-initialised parameter and returns its index. Adding after allocation grows
  // the buffers (values kept; gradients of existing params kept).
  int Add(const std::string& name, std::vector<int64_t> shape, bool trainable = true);
  int Find(const std::string& name) const;  // -1 when absent
  int count() const { return static_cast<int>(infos_.size()); }
  const ParamInfo& info(int i) const { return infos_[i]; }
  const std::vector<ParamInfo>& infos() const { return infos_; }
  void SetTrainable(int i, bool trainable) { infos_[i].trainable = trainable; }
  int64_t CountParams(bool trainable_only = false) const;

  size_t size() const { return size_; }  // floats, alignment padding included
  float* values() { return values_; }
  const float* values() const { return values_; }
  float* value(int i) { return values_ + infos_[i].offset; }
  const float* value(int i) const { return values_ + infos_[i].offset; }

  // The gradient buffer is created (zeroed) on first use.
  float* grads();
  float* grad(int i) { return grads() + infos_[i].offset; }
  const float* grad_if_any(int i) const { return grads_ ? grads_ + infos_[i].offset : nullptr; }
  bool has_grads() const { return grads_ != nullptr; }
  // Zeroes the gradients of trainable parameters (the others stay untouched, i.e. zero).
  void ZeroGrads();

 private:
  void Grow(size_t new_capacity);
  std::vector<ParamInfo> infos_;
  std::map<std::string, int> index_;
  float* values_ = nullptr;
  float* grads_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Lazily committed, zero-filled float memory (anonymous mmap); nullptr on n == 0.
float* AllocateFloats(size_t n);
void FreeFloats(float* p, size_t n);

}  // namespace egret::trainer
