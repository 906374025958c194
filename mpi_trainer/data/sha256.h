// SHA-256 (libcrypto) for dataset source checksums, tokenizer fingerprints and checkpoints.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace egret::data {

// Incremental hashing; Hex() finishes and returns 64 lowercase hex digits.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  void Update(const void* data, size_t n);
  std::string Hex();

 private:
  void* ctx_;  // EVP_MD_CTX
};

std::string Sha256Hex(std::string_view bytes);
// Streams the file (any size); errors name the path.
Result<std::string> Sha256File(const std::string& path);

}  // namespace egret::data
