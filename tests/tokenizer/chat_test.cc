// Chat templates: a template exercising the Jinja2 constructs against Python's Jinja2,
// strict errors for what is not implemented, and the assistant spans and token masks that
// fine-tuning trains on.
#include <gtest/gtest.h>

#include "mpi_trainer/chat/chat_template.h"
#include "tests/tokenizer/fixtures.h"

namespace egret::tokenizer {
namespace {

using chat::ChatTemplate;
using testing::Fixture;

nlohmann::ordered_json Ordered(const nlohmann::json& j) { return nlohmann::ordered_json::parse(j.dump()); }

TEST(ChatConstructs, MatchPythonJinja2) {
  std::string src = testing::ReadText(std::string(EGRET_SOURCE_DIR) + "/tests/fixtures/tokenizers/templates/constructs.jinja");
  auto t = ChatTemplate::Parse(src, "constructs.jinja");
  ASSERT_TRUE(t.ok()) << t.error().message();
  t->SetSpecialTokens({{"bos_token", "<s>"}, {"eos_token", "</s>"}}, {});
  const auto& renders = Fixture("templates.json")["renders"]["templates/constructs.jinja"];
  ASSERT_FALSE(renders.empty());
  for (const auto& r : renders) {
    const auto& messages = Fixture("corpus.json")["chats"][r["messages_index"].get<size_t>()];
    chat::RenderOptions opt;
    opt.add_generation_prompt = r["add_generation_prompt"];
    auto out = t->Render(Ordered(messages), opt);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(*out, r["prompt"].get<std::string>()) << messages.dump();
  }
}

std::string RenderError(const std::string& src, const std::string& messages = R"([{"role": "user", "content": "hi"}])") {
  auto t = ChatTemplate::Parse(src, "tmpl");
  if (!t.ok()) return t.error().message();
  auto r = t->Render(nlohmann::ordered_json::parse(messages), {});
  return r.ok() ? "(rendered) " + *r : r.error().message();
}

TEST(ChatErrors, UnsupportedConstructsAreNamed) {
  EXPECT_EQ(RenderError("{{ messages | frobnicate }}"), "tmpl:1: unknown filter 'frobnicate'");
  EXPECT_EQ(RenderError("a\n{% if messages is frobnicated %}x{% endif %}"), "tmpl:2: unknown test 'frobnicated'");
  EXPECT_EQ(RenderError("{% include 'other.jinja' %}"),
            "tmpl:1: unsupported statement {% include %} (supported: if, for, set, macro, generation, break, "
            "continue, raw)");
  EXPECT_EQ(RenderError("{% for m in messages %}{{ m }}"),
            "tmpl:1: {% for %} opened on line 1 is not closed by {% endfor %}");
  EXPECT_EQ(RenderError("{% for x in messages recursive %}{% endfor %}"), "tmpl:1: recursive loops are not supported");
  EXPECT_EQ(RenderError("{{ foo(*args) }}"), "tmpl:1: *args/**kwargs in a call are not supported");
  EXPECT_EQ(RenderError("{{ 'a' \x01 }}"), "tmpl:1: unexpected character '\x01' in a tag");
}

TEST(ChatErrors, RuntimeErrorsNameTheLine) {
  EXPECT_EQ(RenderError("\n{% if messages[0].role != 'system' %}{{ raise_exception('System message required') }}{% endif %}"),
            "tmpl:2: the template raised an exception: System message required");
  EXPECT_EQ(RenderError("{{ nothing.here }}"), "tmpl:1: 'nothing' is undefined (reading .here)");
  EXPECT_EQ(RenderError("{{ messages[0].content + 1 }}"), "tmpl:1: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(RenderError("{% set ns.x = 1 %}"), "tmpl:1: {% set ns.x %}: 'ns' is not a namespace()");
  EXPECT_EQ(RenderError("{{ messages }}", R"({"role": "user"})"),
            "tmpl: messages must be a list of {\"role\": ..., \"content\": ...} objects (got object)");
}

// Text of the assistant tokens, joined.
std::vector<std::string> AssistantText(const Tokenizer& t, const ChatEncoding& e) {
  std::vector<std::string> out;
  std::vector<TokenId> run;
  for (size_t i = 0; i <= e.ids.size(); ++i) {
    if (i < e.ids.size() && e.assistant_mask[i]) {
      run.push_back(e.ids[i]);
    } else if (!run.empty()) {
      out.push_back(*t.Decode(run));
      run.clear();
    }
  }
  return out;
}

TEST(AssistantSpans, ChatMLWithThinkingBlocks) {
  const Tokenizer* q = testing::Installed("qwen3");
  ASSERT_NE(q, nullptr);
  const auto& chats = Fixture("corpus.json")["chats"];
  // Multi-turn: each assistant turn, with its end-of-turn token; the thinking of an earlier
  // turn is not rendered, the last turn gets the empty think block Qwen3 writes.
  auto e = q->EncodeChat(Ordered(chats[2]), {});
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(AssistantText(*q, *e), (std::vector<std::string>{"Blue.<|im_end|>", "Red.<|im_end|>"}));
  e = q->EncodeChat(Ordered(chats[5]), {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(AssistantText(*q, *e),
            (std::vector<std::string>{"A1<|im_end|>", "<think>\nsecond thoughts\n</think>\n\nA2<|im_end|>"}));
  ASSERT_EQ(e->assistant_spans.size(), 2u);
  EXPECT_EQ(e->assistant_spans[0].message, 1u);
  EXPECT_EQ(e->assistant_spans[1].message, 3u);
  // Prompt tokens are not the assistant's.
  EXPECT_EQ(e->assistant_mask.front(), 0);
}

TEST(AssistantSpans, Llama3TrimmedContent) {
  const Tokenizer* l = testing::Installed("llama3_1");
  ASSERT_NE(l, nullptr);
  const auto& chats = Fixture("corpus.json")["chats"];
  auto e = l->EncodeChat(Ordered(chats[4]), {});  // content "\n answer with spaces \n" is trimmed
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(AssistantText(*l, *e), (std::vector<std::string>{"answer with spaces<|eot_id|>"}));
  e = l->EncodeChat(Ordered(chats[3]), {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(AssistantText(*l, *e), (std::vector<std::string>{"Hello! How can I help?<|eot_id|>"}));
}

TEST(AssistantSpans, GenerationBlocksAreUsedWhenPresent) {
  auto t = ChatTemplate::Parse(
      "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}{% generation %}{{ m.content }}</s>"
      "{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}",
      "gen");
  ASSERT_TRUE(t.ok()) << t.error().message();
  auto r = t->RenderWithAssistantSpans(
      nlohmann::ordered_json::parse(R"([{"role":"user","content":"q"},{"role":"assistant","content":"a"}])"), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "<user>q<assistant>a</s>");  // trim_blocks eats the newline after endif
  ASSERT_EQ(r->assistant_spans.size(), 1u);
  EXPECT_EQ(r->text.substr(r->assistant_spans[0].begin, r->assistant_spans[0].end - r->assistant_spans[0].begin), "a</s>");
  EXPECT_EQ(r->assistant_spans[0].message, 1u);
}

}  // namespace
}  // namespace egret::tokenizer
