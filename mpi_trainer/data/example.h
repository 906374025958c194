// One training example, as a tenant writes it on one JSONL line. Three shapes are accepted:
//   {"text": "..."}                                  plain text, every token trained on
//   {"prompt": "...", "completion": "..."}           trained on the completion only
//   {"messages": [{"role": "user", "content": "..."}, ...]}
//                                                    rendered with the model's chat template,
//                                                    trained on assistant turns only
// prompt/completion may also be message lists (conversational prompt/completion): they are
// rendered as one chat and only the completion's assistant turns are trained on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace egret::data {

enum class ExampleKind { kText, kPromptCompletion, kChat };
const char* KindName(ExampleKind k);

struct Message {
  std::string role;
  std::string content;
  // Assistant turns are trained on unless the line says "weight": 0 for that message.
  bool train = true;
};

struct Example {
  ExampleKind kind = ExampleKind::kText;
  std::string text;                  // kText
  std::string prompt, completion;    // kPromptCompletion
  std::vector<Message> messages;     // kChat
};

// Parses one line. The error says what is wrong ("messages[2].role must be a string") but not
// where: the caller prefixes file:line.
Result<Example> ParseExample(std::string_view line);

}  // namespace egret::data
