// Added tokens (tokenizer.json "added_tokens"): found in the text before pre-tokenization,
// with Hugging Face's rules. Tokens with normalized=false are matched in the raw input,
// the others in the normalized text; matching is leftmost-longest; single_word, lstrip and
// rstrip behave as in the tokenizers library (the stripped whitespace joins the token).
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mpi_trainer/tokenizer/pipeline.h"

namespace egret::tokenizer {

struct AddedToken {
  std::string content;
  TokenId id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

class AddedVocab {
 public:
  struct Segment {
    size_t begin, end;
    std::optional<TokenId> id;  // set for an added token
  };

  // NORMALIZER (may be null) gives the normalized spelling of normalized tokens.
  void Build(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // Splits TEXT into plain segments and added tokens (normalized_pass picks which tokens).
  void Split(std::string_view text, bool normalized_pass, std::vector<Segment>* out) const;

  const AddedToken* ById(TokenId id) const;
  std::optional<TokenId> ByContent(std::string_view content) const;
  bool IsSpecialContent(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool has_normalized() const { return !tries_[1].nodes.empty(); }

 private:
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int>> next;
      int token = -1;  // index into tokens_
    };
    std::vector<Node> nodes;
    std::bitset<256> first;
    void Add(std::string_view s, int token);
    // Longest token starting at TEXT[I], as (token index, end), or token -1.
    std::pair<int, size_t> Longest(std::string_view text, size_t i) const;
  };

  std::vector<AddedToken> tokens_;
  std::unordered_map<TokenId, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Trie tries_[2];  // [0]: raw input, [1]: normalized text
};

}  // namespace egret::tokenizer
