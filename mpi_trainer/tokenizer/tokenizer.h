// Hugging Face tokenizers, read from the files people have: a tokenizer.json (byte-level
// BPE as in GPT-2, Llama 3, Qwen2/3, gpt-oss, DeepSeek; SentencePiece-style BPE as in Llama 2
// and Mistral) with its tokenizer_config.json, or GPT-2's encoder.json + vocab.bpe. Encoding
// and decoding match the Rust tokenizers library; chat prompts are rendered with the
// tokenizer's own chat template (mpi_trainer/chat).
//
// Thread-safe: a loaded Tokenizer may be used from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "mpi_trainer/chat/chat_template.h"

namespace egret::tokenizer {

using TokenId = int32_t;

struct Encoding {
  std::vector<TokenId> ids;
  // For each token, the byte range [first, second) of the input it was made from; tokens the
  // post-processor adds (BOS) have an empty range.
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

// A chat rendered and tokenized for training: which tokens are the assistant's to learn.
struct ChatEncoding {
  std::string text;                    // the rendered prompt
  std::vector<TokenId> ids;            // its tokens (no BOS added: the template has its own)
  std::vector<uint8_t> assistant_mask; // 1 for tokens inside an assistant span
  std::vector<chat::Span> assistant_spans;  // byte ranges of text
};

struct SpecialIds {
  std::optional<TokenId> bos, eos, pad, unk;
};

class Tokenizer {
 public:
  // PATH: a directory holding tokenizer.json (and optionally tokenizer_config.json,
  // chat_template.jinja), or encoder.json + vocab.bpe (or vocab.json + merges.txt); or a
  // tokenizer.json file (its directory is searched for tokenizer_config.json).
  static Result<Tokenizer> Load(const std::string& path);
  // From file contents; CONFIG_JSON may be empty. NAME prefixes error messages.
  static Result<Tokenizer> FromJson(std::string_view tokenizer_json, std::string_view config_json,
                                    const std::string& name);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // ADD_SPECIAL_TOKENS runs the post-processor (e.g. Llama 3's <|begin_of_text|>). Special
  // tokens written in TEXT are always recognised. Errors: TEXT is not UTF-8.
  Result<std::vector<TokenId>> Encode(std::string_view text, bool add_special_tokens = true) const;
  Result<Encoding> EncodeWithOffsets(std::string_view text, bool add_special_tokens = true) const;
  // Errors: an id outside the vocabulary.
  Result<std::string> Decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const;

  std::optional<TokenId> TokenToId(std::string_view token) const;
  std::optional<std::string> IdToToken(TokenId id) const;
  // One past the largest id (model vocabulary and added tokens).
  size_t VocabSize() const;
  bool IsSpecial(TokenId id) const;
  const SpecialIds& special_ids() const;
  // Where the tokenizer was read from.
  const std::string& source() const;

  // Chat: the template of tokenizer_config.json (or chat_template.jinja). Errors name the
  // template and the construct when it cannot be rendered exactly.
  bool HasChatTemplate() const;
  Result<std::string> RenderChat(const nlohmann::ordered_json& messages, const chat::RenderOptions& options) const;
  // Rendered, tokenized (no post-processor), with the assistant mask (see chat_template.h).
  Result<ChatEncoding> EncodeChat(const nlohmann::ordered_json& messages, const chat::RenderOptions& options) const;

 private:
  struct Impl;
  friend struct Assembler;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace egret::tokenizer
