// The stages of a Hugging Face tokenizer (tokenizer.json), each built from its JSON section:
// normalizer -> pre-tokenizer -> model (BPE) -> post-processor, and the decoder back.
// Internal to the tokenizer library.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "mpi_trainer/tokenizer/aligned.h"
#include "mpi_trainer/tokenizer/regex.h"

namespace egret::tokenizer {

using TokenId = int32_t;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual Aligned Normalize(const Aligned& in) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits (and may rewrite) each piece; empty pieces are dropped by the caller.
  virtual Status Split(std::vector<Aligned>* pieces) const = 0;
};

// A token with the input byte range it covers (empty for tokens added by post-processing).
struct Token {
  TokenId id;
  uint32_t lo = 0, hi = 0;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void Process(std::vector<Token>* tokens, bool add_special_tokens) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // decode_chain: token strings in, strings out (joined by the caller).
  virtual std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const = 0;
};

// A JSON section's location for error messages, e.g. "pre_tokenizer.pretokenizers[0]".
using Where = std::string;

// Each returns nullptr for a JSON null (no such stage); an unknown "type" or a malformed
// field is an error naming WHERE and what is accepted.
Result<std::unique_ptr<Normalizer>> MakeNormalizer(const nlohmann::json& j, const Where& where);
Result<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const nlohmann::json& j, const Where& where);
Result<std::unique_ptr<PostProcessor>> MakePostProcessor(const nlohmann::json& j, const Where& where);
Result<std::unique_ptr<Decoder>> MakeDecoder(const nlohmann::json& j, const Where& where);

// {"String": s} (literal) or {"Regex": r}, as Split and Replace write their patterns.
Result<Regex> MakePattern(const nlohmann::json& j, const Where& where);

// JSON field helpers shared by the stage factories.
Result<bool> GetBool(const nlohmann::json& j, const char* key, bool fallback, const Where& where);
Result<std::string> GetString(const nlohmann::json& j, const char* key, const Where& where);
// The "type" of a stage object, or an error naming WHERE.
Result<std::string> GetType(const nlohmann::json& j, const Where& where);
// Quotes S as JSON does, for error messages.
std::string Quote(const std::string& s);

}  // namespace egret::tokenizer
