// The weights of a Hugging Face model directory: one model.safetensors, or shards listed in
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}). Every file is
// validated when opened; a tensor is found by its checkpoint name wherever it lives.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "mpi_trainer/io/safetensors.h"

namespace egret::trainer::io {

class WeightSource {
 public:
  struct Entry {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };

  // Opens DIR/model.safetensors, or DIR/model.safetensors.index.json and its shards.
  static Result<WeightSource> Open(const std::string& dir);
  // Opens one file (adapters: adapter_model.safetensors).
  static Result<WeightSource> OpenFile(const std::string& path);

  const Entry* Find(const std::string& name) const;
  const std::map<std::string, Entry>& entries() const { return entries_; }
  // Number of tensors per on-disk dtype, e.g. {"BF16": 20}.
  std::map<std::string, int> DTypeCounts() const;
  // "model.safetensors" or "model.safetensors.index.json (2 shards)", for messages.
  const std::string& description() const { return description_; }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry> entries_;
  std::string description_;
};

}  // namespace egret::trainer::io
