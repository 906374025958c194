// Chat templates: the Jinja2 template a model ships in tokenizer_config.json ("chat_template",
// or a list of named templates) or chat_template.jinja, rendered over the usual
// [{"role": ..., "content": ...}] messages with Hugging Face's conventions (trim_blocks,
// lstrip_blocks, bos_token/eos_token and the other special tokens as variables,
// raise_exception, strftime_now). The interpreter (chat/jinja) is strict: a construct it
// does not implement is an error naming the template and the construct, never a guess.
//
// Assistant spans (what a fine-tune learns from) are found as follows:
//  - a template with {% generation %} blocks: exactly the text those blocks output, as
//    transformers' return_assistant_tokens_mask does;
//  - otherwise, for each assistant message i: it starts where the rendering of messages[:i]
//    with add_generation_prompt ends (when that rendering is a prefix of the whole
//    conversation's; else where the message's content first appears, found by rendering
//    with the content altered and diffing), and ends where its content ends (found by
//    rendering with a marker appended to the content and diffing) plus the text up to and
//    including the next end-of-turn special token (<|im_end|>, <|eot_id|>, <|end|>...).
//    So a span holds what the model must generate for that turn, end-of-turn token included.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::chat {

struct RenderOptions {
  bool add_generation_prompt = false;
  // More template variables: tools, documents, enable_thinking, reasoning_effort, ...
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
};

// A byte range [begin, end) of the rendered text, from messages[message].
struct Span {
  size_t begin = 0, end = 0;
  size_t message = 0;
};

struct Rendered {
  std::string text;
  std::vector<Span> assistant_spans;
};

class ChatTemplate {
 public:
  // NAME names the template in errors (e.g. "qwen3/tokenizer_config.json: chat_template").
  static Result<ChatTemplate> Parse(const std::string& source, const std::string& name);

  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  // Variables every render sees (bos_token, eos_token, ...), and the special-token strings
  // that may end an assistant turn.
  void SetSpecialTokens(nlohmann::json token_variables, std::vector<std::string> turn_enders);

  Result<std::string> Render(const nlohmann::ordered_json& messages, const RenderOptions& options) const;
  Result<Rendered> RenderWithAssistantSpans(const nlohmann::ordered_json& messages,
                                            const RenderOptions& options) const;
  const std::string& name() const;

 private:
  struct Impl;
  explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace egret::chat
