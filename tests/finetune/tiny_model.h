// Tiny randomly initialised Hugging Face model directories for the fine-tuning tests: config.json,
// model.safetensors and the byte tokenizer (tests/fixtures/finetune/byte-tokenizer), written by
// the model library itself, so each test builds the model it needs in milliseconds.
#pragma once

#include <string>

#include "common/result.h"

namespace egret::testing {

std::string ByteTokenizerDir();

// FAMILY: llama or gpt2 (vocab 259 + 1, hidden 32, 2 layers).
Status WriteTinyModel(const std::string& dir, const std::string& family = "llama", uint64_t seed = 1);

// A fresh empty directory under the system temp dir.
std::string FreshDir(const std::string& name);

}  // namespace egret::testing
