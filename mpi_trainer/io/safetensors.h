// safetensors files (https://github.com/huggingface/safetensors, "Format"): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. Files are mapped read-only and validated in
// full when opened, so a corrupt or truncated file is refused before any tensor is used.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace egret::trainer::io {

// Every dtype the format defines is understood structurally; only F32, F16 and BF16 can
// be converted to fp32 (ReadF32).
enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool, kF8E4M3, kF8E5M2 };

const char* DTypeName(DType d);
size_t DTypeSize(DType d);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets inside the data section
  int64_t numel() const;
};

// Parses and validates a header against a data section of data_size bytes. Errors name
// `file` and the tensor. Exposed so tests can exercise validation on crafted headers.
Result<std::vector<TensorInfo>> ParseHeader(std::string_view header_json, uint64_t data_size,
                                            const std::string& file,
                                            std::map<std::string, std::string>* metadata);

class SafetensorsFile {
 public:
  static Result<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* Find(const std::string& name) const;
  // Converts the tensor to fp32 into out[0 .. numel).
  Status ReadF32(const TensorInfo& t, float* out) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;  // fp32, numel(shape) values
};

// Writes an F32 or BF16 (round to nearest even) file with {"format": "pt"} metadata, as
// transformers' save_pretrained does, via a temporary file renamed into place.
Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                        DType dtype = DType::kF32,
                        const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// fp32 <-> bf16/f16 bit conversions used by the reader and writer.
float BF16ToF32(uint16_t h);
uint16_t F32ToBF16(float f);
float F16ToF32(uint16_t h);

}  // namespace egret::trainer::io
