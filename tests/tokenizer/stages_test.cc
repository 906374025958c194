// Stage semantics on small hand-written tokenizers, where the expected pieces come from the
// Rust tokenizers library's documented examples (Split behaviours and inversion, the
// SentencePiece-style chain), and offsets/special ids of the real tokenizers.
#include <gtest/gtest.h>

#include "tests/tokenizer/fixtures.h"

namespace egret::tokenizer {
namespace {

// A tokenizer whose vocabulary holds exactly PIECES (and their characters), with no merges:
// with ignore_merges each pre-tokenized piece that is in the vocabulary comes out as one token,
// so the tokens show how the pre-tokenizer split the text.
Tokenizer PieceTokenizer(const std::vector<std::string>& pieces, const nlohmann::json& pre_tokenizer,
                         const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json vocab = nlohmann::json::object();
  for (const auto& p : pieces) {
    if (!vocab.contains(p)) vocab[p] = vocab.size();
    for (size_t i = 0; i < p.size();) {
      size_t n = (p[i] & 0x80) == 0 ? 1 : (p[i] & 0xE0) == 0xC0 ? 2 : (p[i] & 0xF0) == 0xE0 ? 3 : 4;
      std::string ch = p.substr(i, n);
      if (!vocab.contains(ch)) vocab[ch] = vocab.size();
      i += n;
    }
  }
  nlohmann::json tj = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()},
                                  {"ignore_merges", true}}},
                       {"pre_tokenizer", pre_tokenizer}};
  for (auto it = extra.begin(); it != extra.end(); ++it) tj[it.key()] = it.value();
  auto t = Tokenizer::FromJson(tj.dump(), "", "pieces.json");
  EXPECT_TRUE(t.ok()) << t.error().message();
  return std::move(t.value());
}

std::vector<std::string> Pieces(const Tokenizer& t, const std::string& text) {
  auto ids = t.Encode(text, false);
  EXPECT_TRUE(ids.ok());
  std::vector<std::string> out;
  for (TokenId id : *ids) out.push_back(*t.IdToToken(id));
  return out;
}

nlohmann::json SplitWords(const char* behavior) {
  return {{"type", "Split"}, {"pattern", {{"Regex", "\\w+|[^\\w\\s]+"}}}, {"behavior", behavior}, {"invert", true}};
}

TEST(Split, BehavioursMatchTheTokenizersLibraryExamples) {
  const std::string text = "How are you doing?";
  struct Case {
    const char* behavior;
    std::vector<std::string> pieces;
  } cases[] = {
      {"Removed", {"How", "are", "you", "doing", "?"}},
      {"Isolated", {"How", " ", "are", " ", "you", " ", "doing", "?"}},
      {"MergedWithPrevious", {"How ", "are ", "you ", "doing", "?"}},
      {"MergedWithNext", {"How", " are", " you", " doing", "?"}},
      {"Contiguous", {"How", " ", "are", " ", "you", " ", "doing?"}},
  };
  for (const auto& c : cases) {
    Tokenizer t = PieceTokenizer(c.pieces, SplitWords(c.behavior));
    EXPECT_EQ(Pieces(t, text), c.pieces) << c.behavior;
  }
}

TEST(Split, InvertedStringPatternEqualsSplittingOnTheGaps) {
  // The library's own check: Split(" ", Removed) == Split("Hello", Removed, invert).
  std::vector<std::string> hello = {"Hello"};
  Tokenizer a = PieceTokenizer(hello, {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Removed"}, {"invert", false}});
  Tokenizer b = PieceTokenizer(hello, {{"type", "Split"}, {"pattern", {{"String", "Hello"}}}, {"behavior", "Removed"}, {"invert", true}});
  EXPECT_EQ(Pieces(a, "Hello Hello Hello"), (std::vector<std::string>{"Hello", "Hello", "Hello"}));
  EXPECT_EQ(Pieces(b, "Hello Hello Hello"), Pieces(a, "Hello Hello Hello"));
}

TEST(Split, DelimiterExampleOfTheDocumentation) {
  // tokenizers' SplitDelimiterBehavior documentation: "the-final--countdown" split on "-".
  nlohmann::json split = {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"invert", false}};
  struct Case {
    const char* behavior;
    std::vector<std::string> pieces;
  } cases[] = {
      {"Removed", {"the", "final", "countdown"}},
      {"Isolated", {"the", "-", "final", "-", "-", "countdown"}},
      {"MergedWithPrevious", {"the-", "final-", "-", "countdown"}},
      {"MergedWithNext", {"the", "-final", "-", "-countdown"}},
      {"Contiguous", {"the", "-", "final", "--", "countdown"}},
  };
  for (const auto& c : cases) {
    split["behavior"] = c.behavior;
    Tokenizer t = PieceTokenizer(c.pieces, split);
    EXPECT_EQ(Pieces(t, "the-final--countdown"), c.pieces) << c.behavior;
  }
}

TEST(Split, OnigurumaClassesMeanWhatTheyMeanThere) {
  // \s is Unicode White_Space (U+0085 yes, U+180E no); \w includes marks; \h is a hex digit.
  Tokenizer ws = PieceTokenizer({"a", "\xC2\x85", "b\xE1\xA0\x8E" "c"},
                                {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Isolated"}, {"invert", false}});
  EXPECT_EQ(Pieces(ws, "a\xC2\x85" "b\xE1\xA0\x8E" "c"), (std::vector<std::string>{"a", "\xC2\x85", "b\xE1\xA0\x8E" "c"}));
  Tokenizer hex = PieceTokenizer({"be", "ef", "zz"},
                                 {{"type", "Split"}, {"pattern", {{"Regex", "\\h+"}}}, {"behavior", "Isolated"}, {"invert", false}});
  // "beef" is one match of \h+ (not in the vocabulary, so it is spelled by characters), "zz" another.
  EXPECT_EQ(Pieces(hex, "beefzz"), (std::vector<std::string>{"b", "e", "e", "f", "zz"}));
}

TEST(AddedTokens, SingleWordOnlyMatchesWholeWords) {
  nlohmann::json added = nlohmann::json::array({{{"id", 100}, {"content", "cat"}, {"single_word", true}, {"lstrip", false},
                                                  {"rstrip", false}, {"normalized", false}, {"special", false}}});
  Tokenizer t = PieceTokenizer({"cat", "s", "con", "x"}, nullptr, {{"added_tokens", added}});
  auto ids = t.Encode("cat concat cats x cat", false);
  ASSERT_TRUE(ids.ok());
  int whole = 0;
  for (TokenId id : *ids) whole += id == 100;
  EXPECT_EQ(whole, 2);  // the first and last "cat", not inside "concat" or "cats"
}

TEST(AddedTokens, LstripAndRstripTakeTheSurroundingSpaces) {
  nlohmann::json added = nlohmann::json::array({{{"id", 100}, {"content", "<m>"}, {"single_word", false}, {"lstrip", true},
                                                  {"rstrip", true}, {"normalized", false}, {"special", true}}});
  Tokenizer t = PieceTokenizer({"a", "b"}, nullptr, {{"added_tokens", added}});
  auto enc = t.EncodeWithOffsets("a  <m>  b", false);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->ids, (std::vector<TokenId>{0, 100, 1}));
  EXPECT_EQ(enc->offsets[1], (std::pair<uint32_t, uint32_t>{1, 8}));
}

TEST(Offsets, MapTokensBackToTheInputThroughNormalization) {
  const Tokenizer* t = testing::Installed("qwen3");  // NFC normalizer
  ASSERT_NE(t, nullptr);
  std::string text = "cafe\xCC\x81 ok";  // "e" + combining acute: NFC makes it one character
  auto enc = t->EncodeWithOffsets(text, false);
  ASSERT_TRUE(enc.ok());
  ASSERT_FALSE(enc->ids.empty());
  EXPECT_EQ(enc->offsets.front().first, 0u);
  EXPECT_EQ(enc->offsets.back().second, text.size());
  for (size_t i = 1; i < enc->offsets.size(); ++i) EXPECT_LE(enc->offsets[i - 1].second, enc->offsets[i].first + 0u);
}

TEST(SpecialIds, ComeFromTokenizerConfig) {
  const Tokenizer* q = testing::Installed("qwen3");
  const Tokenizer* l = testing::Installed("llama3_1");
  const Tokenizer* g = testing::Installed("gpt2");
  ASSERT_TRUE(q && l && g);
  EXPECT_EQ(q->special_ids().eos, q->TokenToId("<|im_end|>"));
  EXPECT_EQ(q->special_ids().pad, q->TokenToId("<|endoftext|>"));
  EXPECT_FALSE(q->special_ids().bos.has_value());
  EXPECT_EQ(l->special_ids().bos, 128000);
  EXPECT_EQ(l->special_ids().eos, 128009);  // <|eot_id|>
  EXPECT_EQ(g->special_ids().eos, 50256);
  EXPECT_EQ(q->VocabSize(), 151669u);
  EXPECT_TRUE(q->IsSpecial(151645));
  EXPECT_FALSE(q->IsSpecial(9707));
  EXPECT_EQ(q->IdToToken(9707), "Hello");
}

}  // namespace
}  // namespace egret::tokenizer
