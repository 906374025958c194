// Ids, decoding and chat prompts of every installed tokenizer against the independent
// references in tests/fixtures/tokenizers (Hugging Face's JavaScript tokenizers and jinja,
// OpenAI's GPT-2 encoder), and decode(encode(x)) == x on the whole corpus.
#include <gtest/gtest.h>

#include "tests/tokenizer/fixtures.h"

namespace egret::tokenizer {
namespace {

using testing::Fixture;
using testing::Installed;

std::string Show(const std::string& s) { return nlohmann::json(s).dump(); }

class Reference : public ::testing::TestWithParam<std::string> {
 protected:
  const Tokenizer* tok() { return Installed(GetParam()); }
  const nlohmann::json& fix() { return Fixture(GetParam() + ".json"); }
  const nlohmann::json& corpus() { return Fixture("corpus.json"); }
};

TEST_P(Reference, IdsMatchWithAndWithoutSpecialTokens) {
  const Tokenizer* t = tok();
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(fix().is_object()) << "fixture missing";
  for (const auto& c : fix()["cases"]) {
    std::string text = corpus()["texts"][c["text_index"].get<size_t>()];
    auto ids = t->Encode(text, true);
    ASSERT_TRUE(ids.ok()) << ids.error().message();
    EXPECT_EQ(*ids, c["ids"].get<std::vector<TokenId>>()) << "text " << Show(text);
    auto plain = t->Encode(text, false);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(*plain, c["ids_no_special"].get<std::vector<TokenId>>()) << "text " << Show(text);
    if (c.contains("openai_ids")) {
      EXPECT_EQ(*plain, c["openai_ids"].get<std::vector<TokenId>>()) << "GPT-2 encoder, text " << Show(text);
    }
  }
}

TEST_P(Reference, DecodeMatchesAndRoundTrips) {
  const Tokenizer* t = tok();
  ASSERT_NE(t, nullptr);
  for (const auto& c : fix()["cases"]) {
    std::string text = corpus()["texts"][c["text_index"].get<size_t>()];
    auto ids = c["ids"].get<std::vector<TokenId>>();
    auto decoded = t->Decode(ids, false);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, c["decoded"].get<std::string>()) << "text " << Show(text);
    auto skipped = t->Decode(ids, true);
    ASSERT_TRUE(skipped.ok());
    EXPECT_EQ(*skipped, c["decoded_skip_special"].get<std::string>()) << "text " << Show(text);
    // decode(encode(x)) == x (in the normalizer's Unicode form), without the
    // post-processor's tokens, wherever the pipeline is not lossy by design.
    if (c["roundtrip"].is_null()) continue;
    auto plain = t->Encode(text, false);
    ASSERT_TRUE(plain.ok());
    auto back = t->Decode(*plain, false);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c["roundtrip"].get<std::string>()) << "round trip of " << Show(text);
  }
}

TEST_P(Reference, ChatPromptsMatch) {
  const Tokenizer* t = tok();
  ASSERT_NE(t, nullptr);
  const auto& chats = fix()["chats"];
  if (chats.empty()) {
    EXPECT_FALSE(t->HasChatTemplate());
    return;
  }
  for (const auto& c : chats) {
    const auto messages = nlohmann::ordered_json::parse(corpus()["chats"][c["messages_index"].get<size_t>()].dump());
    chat::RenderOptions opt;
    opt.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    auto prompt = t->RenderChat(messages, opt);
    ASSERT_TRUE(prompt.ok()) << prompt.error().message();
    EXPECT_EQ(*prompt, c["prompt"].get<std::string>()) << "messages " << messages.dump();
    auto enc = t->EncodeChat(messages, opt);
    ASSERT_TRUE(enc.ok()) << enc.error().message();
    EXPECT_EQ(enc->ids, c["ids"].get<std::vector<TokenId>>()) << "messages " << messages.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Installed, Reference,
                         ::testing::Values("qwen3", "llama3", "llama3_1", "gptoss", "gpt2", "llama2",
                                           "deepseek_v3"));

// Variants of the shipped files with other stages, against the same reference.
TEST(Variants, IdsMatch) {
  const auto& fx = Fixture("variants.json");
  ASSERT_TRUE(fx.is_object());
  for (const auto& v : fx["variants"]) {
    std::string base = v["base"];
    nlohmann::json tj;
    if (base == "gpt2") {
      // The same tokenizer.json as the reference script builds from encoder.json + vocab.bpe.
      nlohmann::json merges = nlohmann::json::array();
      std::string bpe = testing::ReadText(testing::CacheDir() + "/gpt2/vocab.bpe");
      size_t at = 0;
      while (at < bpe.size()) {
        size_t nl = bpe.find('\n', at);
        if (nl == std::string::npos) nl = bpe.size();
        std::string line = bpe.substr(at, nl - at);
        if (!line.empty() && line.rfind("#version", 0) != 0) merges.push_back(line);
        at = nl + 1;
      }
      tj = {{"normalizer", nullptr}, {"post_processor", nullptr},
            {"added_tokens", {{{"id", 50256}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                               {"rstrip", false}, {"normalized", false}, {"special", true}}}},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model", {{"type", "BPE"}, {"vocab", nlohmann::json::parse(testing::ReadText(testing::CacheDir() + "/gpt2/encoder.json"))},
                       {"merges", merges}}}};
    } else {
      tj = nlohmann::json::parse(testing::ReadText(testing::CacheDir() + "/" + base + "/tokenizer.json"));
    }
    for (auto it = v["override"].begin(); it != v["override"].end(); ++it) tj[it.key()] = it.value();
    for (const auto& a : v["added"]) {
      tj["added_tokens"].push_back(a);
      if (!tj["model"]["vocab"].contains(a["content"].get<std::string>())) tj["model"]["vocab"][a["content"].get<std::string>()] = a["id"];
    }
    auto t = Tokenizer::FromJson(tj.dump(), "", v["name"].get<std::string>());
    ASSERT_TRUE(t.ok()) << t.error().message();
    for (size_t i = 0; i < v["texts"].size(); ++i) {
      std::string text = v["texts"][i];
      auto ids = t->Encode(text, true);
      ASSERT_TRUE(ids.ok());
      EXPECT_EQ(*ids, v["cases"][i]["ids"].get<std::vector<TokenId>>()) << v["name"] << ": " << Show(text);
      auto plain = t->Encode(text, false);
      ASSERT_TRUE(plain.ok());
      EXPECT_EQ(*plain, v["cases"][i]["ids_no_special"].get<std::vector<TokenId>>()) << v["name"] << ": " << Show(text);
    }
  }
}

}  // namespace
}  // namespace egret::tokenizer
