#include "mpi_trainer/tokenizer/added_vocab.h"

#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {
namespace {

// Last code point before byte END of S.
uint32_t LastChar(std::string_view s, size_t end) {
  size_t b = end - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  return DecodeUtf8(s, b);
}

}  // namespace

void AddedVocab::Trie::Add(std::string_view s, int token) {
  if (nodes.empty()) nodes.emplace_back();
  if (s.empty()) return;
  first.set(static_cast<unsigned char>(s[0]));
  int cur = 0;
  for (unsigned char c : s) {
    int found = -1;
    for (auto [ch, idx] : nodes[cur].next)
      if (ch == c) found = idx;
    if (found < 0) {
      found = static_cast<int>(nodes.size());
      nodes[cur].next.emplace_back(c, found);
      nodes.emplace_back();
    }
    cur = found;
  }
  if (nodes[cur].token < 0) nodes[cur].token = token;
}

std::pair<int, size_t> AddedVocab::Trie::Longest(std::string_view text, size_t i) const {
  std::pair<int, size_t> best{-1, 0};
  int cur = 0;
  for (size_t k = i; k < text.size(); ++k) {
    int nxt = -1;
    for (auto [ch, idx] : nodes[cur].next)
      if (ch == static_cast<unsigned char>(text[k])) {
        nxt = idx;
        break;
      }
    if (nxt < 0) break;
    cur = nxt;
    if (nodes[cur].token >= 0) best = {nodes[cur].token, k + 1};
  }
  return best;
}

void AddedVocab::Build(std::vector<AddedToken> tokens, const Normalizer* normalizer) {
  tokens_ = std::move(tokens);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    by_id_[t.id] = i;
    by_content_.emplace(t.content, i);
    if (t.content.empty()) continue;
    if (t.normalized && normalizer) {
      tries_[1].Add(normalizer->Normalize(Aligned::Original(t.content, 0, false)).text, static_cast<int>(i));
    } else if (t.normalized) {
      tries_[1].Add(t.content, static_cast<int>(i));
    } else {
      tries_[0].Add(t.content, static_cast<int>(i));
    }
  }
}

void AddedVocab::Split(std::string_view s, bool normalized_pass, std::vector<Segment>* out) const {
  const Trie& trie = tries_[normalized_pass ? 1 : 0];
  size_t start_offset = 0;
  if (!trie.nodes.empty()) {
    size_t i = 0;
    while (i < s.size()) {
      if (!trie.first.test(static_cast<unsigned char>(s[i]))) {
        ++i;
        continue;
      }
      auto [token, end] = trie.Longest(s, i);
      if (token < 0) {
        ++i;
        continue;
      }
      const AddedToken& t = tokens_[token];
      size_t start = i, stop = end;
      i = end;  // matches never overlap, even when one is discarded below
      if (t.single_word) {
        bool start_space = start == 0 || !IsWordChar(LastChar(s, start));
        size_t k = stop;
        bool stop_space = stop == s.size() || !IsWordChar(DecodeUtf8(s, k));
        if (!start_space || !stop_space) continue;
      }
      if (t.lstrip) {
        size_t b = start;
        while (b > 0) {
          size_t p = b - 1;
          while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
          size_t q = p;
          if (!IsWhiteSpace(DecodeUtf8(s, q))) break;
          b = p;
        }
        start = std::max(b, start_offset);
      }
      if (t.rstrip) {
        while (stop < s.size()) {
          size_t q = stop;
          if (!IsWhiteSpace(DecodeUtf8(s, q))) break;
          stop = q;
        }
        i = std::max(i, stop);
      }
      if (start_offset < start) out->push_back({start_offset, start, std::nullopt});
      out->push_back({start, stop, t.id});
      start_offset = stop;
    }
  }
  if (start_offset < s.size()) out->push_back({start_offset, s.size(), std::nullopt});
}

const AddedToken* AddedVocab::ById(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<TokenId> AddedVocab::ByContent(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

bool AddedVocab::IsSpecialContent(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it != by_content_.end() && tokens_[it->second].special;
}

}  // namespace egret::tokenizer
