// Malformed tokenizer inputs: each gives one clear error naming the file, the field, the
// value and what is accepted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/fs.h"
#include "tests/tokenizer/fixtures.h"

namespace egret::tokenizer {
namespace {

std::string ErrorOf(const std::string& tokenizer_json, const std::string& config = "") {
  auto t = Tokenizer::FromJson(tokenizer_json, config, "t.json");
  if (t.ok()) return "(loaded)";
  return t.error().message();
}

const char* kModel = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

TEST(TokenizerJsonErrors, NotJson) {
  EXPECT_EQ(ErrorOf("{\"model\": "),
            "t.json: not valid JSON: parse error at line 1, column 11: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
}

TEST(TokenizerJsonErrors, MissingModel) {
  EXPECT_EQ(ErrorOf(R"({"normalizer": null})"), "t.json: no \"model\" section: not a Hugging Face tokenizer.json");
}

TEST(TokenizerJsonErrors, UnsupportedModelTypes) {
  for (const char* type : {"Unigram", "WordPiece", "WordLevel"}) {
    EXPECT_EQ(ErrorOf(std::string(R"({"model": {"type": ")") + type + R"(", "vocab": [["a", 0.0]]}})"),
              std::string("t.json: model.type \"") + type +
                  "\" is not supported: Egret reads BPE tokenizers (byte-level as in GPT-2, Llama 3, Qwen, "
                  "gpt-oss; SentencePiece-style as in Llama 2, Mistral), not WordPiece, Unigram or WordLevel");
  }
}

TEST(TokenizerJsonErrors, MergeOfAnUnknownToken) {
  EXPECT_EQ(ErrorOf(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a c"]}})"),
            "t.json: model.merges[0] (\"a\", \"c\") uses token \"c\", which is not in model.vocab");
  EXPECT_EQ(ErrorOf(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}})"),
            "t.json: model.merges[0] (\"a\", \"b\") makes \"ab\", which is not in model.vocab");
  EXPECT_EQ(ErrorOf(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}})"),
            "t.json: model.merges[0] \"a b c\" must be two tokens separated by one space");
}

TEST(TokenizerJsonErrors, BadRegex) {
  std::string j = std::string("{") + kModel +
                  R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(\\p{L}+"}, "behavior": "Isolated", "invert": false}})";
  EXPECT_EQ(ErrorOf(j),
            "t.json: pre_tokenizer.pattern: regex (\\p{L}+ does not compile: missing closing parenthesis "
            "(at byte 7 of its PCRE2 form)");
}

TEST(TokenizerJsonErrors, UnknownStages) {
  EXPECT_EQ(ErrorOf(std::string("{") + kModel + R"(, "pre_tokenizer": {"type": "UnicodeScripts"}})"),
            "t.json: pre_tokenizer: pre-tokenizer type \"UnicodeScripts\" is not supported (supported: ByteLevel, "
            "Split, Sequence, Digits, Metaspace, Whitespace, WhitespaceSplit, Punctuation, CharDelimiterSplit)");
  EXPECT_EQ(ErrorOf(std::string("{") + kModel + R"(, "normalizer": {"type": "Sequence", "normalizers": [{"type": "Precompiled"}]}})"),
            "t.json: normalizer.normalizers[0]: normalizer type \"Precompiled\" is not supported (supported: NFC, "
            "NFD, NFKC, NFKD, Lowercase, StripAccents, Prepend, Strip, Replace, Sequence)");
  EXPECT_EQ(ErrorOf(std::string("{") + kModel + R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "x"}, "behavior": "Sideways"}})"),
            "t.json: pre_tokenizer.behavior \"Sideways\" is not one of Removed, Isolated, MergedWithPrevious, "
            "MergedWithNext, Contiguous");
}

TEST(TokenizerJsonErrors, BadAddedToken) {
  EXPECT_EQ(ErrorOf(std::string("{") + kModel + R"(, "added_tokens": [{"content": "<x>"}]})"),
            "t.json: added_tokens[0].id must be a non-negative integer");
}

TEST(TokenizerFiles, MissingPathAndEmptyDirectory) {
  auto t = Tokenizer::Load("/nonexistent/tok");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), "/nonexistent/tok: no such tokenizer file or directory");
  std::string dir = std::filesystem::temp_directory_path() / ("egret-tok-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  t = Tokenizer::Load(dir);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), dir + ": not a tokenizer directory: it has no tokenizer.json, and no encoder.json + "
                                       "vocab.bpe (or vocab.json + merges.txt)");
  std::filesystem::remove_all(dir);
}

TEST(TokenizerUse, BadInputs) {
  auto t = Tokenizer::FromJson(std::string("{") + kModel + "}", "", "t.json");
  ASSERT_TRUE(t.ok());
  auto enc = t->Encode("ab\xFF", true);
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.error().message(), "text is not valid UTF-8 (byte 2)");
  std::vector<TokenId> ids = {0, 7};
  auto dec = t->Decode(ids);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.error().message(), "token id 7 is not in the vocabulary of t.json (ids 0..2)");
  auto ab = t->Encode("ab", true);
  ASSERT_TRUE(ab.ok());
  EXPECT_EQ(*ab, (std::vector<TokenId>{2}));
}

TEST(TokenizerUse, NoChatTemplate) {
  const Tokenizer* g = testing::Installed("gpt2");
  ASSERT_NE(g, nullptr);
  auto r = g->RenderChat(nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            testing::CacheDir() + "/gpt2 has no chat template (no chat_template in tokenizer_config.json, no "
            "chat_template.jinja): it is a base tokenizer; render prompts yourself or use a tokenizer from an "
            "instruction-tuned model");
}

TEST(TokenizerConfig, NamedTemplatesWithoutDefault) {
  auto t = Tokenizer::FromJson(std::string("{") + kModel + "}",
                               R"({"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "rag", "template": "y"}]})",
                               "t.json");
  ASSERT_TRUE(t.ok());
  auto r = t->RenderChat(nlohmann::ordered_json::array(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "t.json (tokenizer_config): chat_template lists templates [tool_use, rag] but none named \"default\"");
}

}  // namespace
}  // namespace egret::tokenizer
