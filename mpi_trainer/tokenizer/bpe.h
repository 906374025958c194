// The BPE model: a vocabulary and ranked merges, applied to each pre-tokenized piece by
// repeatedly merging the adjacent pair of lowest rank (leftmost first), as Hugging Face's
// BPE does. Pieces marked byte_level are read through the byte-level alphabet without
// spelling them out. Merge ranks live in an open-addressing table and each thread keeps a
// cache of piece -> tokens, so repeated words cost one lookup.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mpi_trainer/tokenizer/pipeline.h"

namespace egret::tokenizer {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class Bpe {
 public:
  using Vocab = std::unordered_map<std::string, TokenId>;
  using Merges = std::vector<std::pair<std::string, std::string>>;

  // WHERE names the source for errors ("tokenizer.json: model").
  static Result<std::unique_ptr<Bpe>> FromJson(const nlohmann::json& model, const Where& where);
  static Result<std::unique_ptr<Bpe>> Build(Vocab vocab, const Merges& merges, BpeOptions options,
                                            const Where& where);
  ~Bpe();

  // Appends the tokens of PIECE, with input offsets when the piece tracks them.
  void Tokenize(const Aligned& piece, std::vector<Token>* out) const;

  std::optional<TokenId> TokenToId(std::string_view token) const;
  const std::string* IdToToken(TokenId id) const;
  // One past the largest id in the vocabulary.
  size_t Size() const { return id_to_token_.size(); }
  size_t vocab_entries() const { return vocab_.size(); }

 private:
  Bpe() = default;
  struct Piece {
    TokenId id;
    uint32_t len;  // bytes of the piece this token covers
  };
  using Word = std::vector<Piece>;
  class MergeTable;

  Word Split(std::string_view text, bool byte_level) const;
  void Merge(Word* word) const;
  Word Compute(std::string_view text, bool byte_level) const;

  Vocab vocab_;
  Vocab byte_vocab_;  // raw bytes -> id, for tokens spelled wholly in the byte-level alphabet
  std::array<TokenId, 256> byte_id_{};
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  std::unique_ptr<MergeTable> merges_;
  BpeOptions opt_;
  std::optional<TokenId> unk_id_;
  uint64_t cache_key_ = 0;
};

}  // namespace egret::tokenizer
