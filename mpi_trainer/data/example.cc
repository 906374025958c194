#include "mpi_trainer/data/example.h"

#include <nlohmann/json.hpp>

namespace egret::data {
namespace {

using nlohmann::json;

std::string TypeName(const json& j) { return j.type_name(); }

// "content" is a string, or a list of {"type": "text", "text": ...} parts (OpenAI style).
Result<std::string> ContentText(const json& c, const std::string& where) {
  if (c.is_string()) return c.get<std::string>();
  if (c.is_null()) return std::string();
  if (!c.is_array())
    return Error(where + " must be a string or a list of text parts (got " + TypeName(c) + ")");
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const json& part = c[i];
    std::string pw = where + "[" + std::to_string(i) + "]";
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
        !part["text"].is_string())
      return Error(pw + " must be {\"type\": \"text\", \"text\": \"...\"} (only text parts are supported)");
    out += part["text"].get<std::string>();
  }
  return out;
}

Result<std::vector<Message>> ParseMessages(const json& list, const std::string& field) {
  if (!list.is_array()) return Error("'" + field + "' must be a list of messages (got " + TypeName(list) + ")");
  if (list.empty()) return Error("'" + field + "' is empty");
  std::vector<Message> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    std::string where = field + "[" + std::to_string(i) + "]";
    if (!m.is_object()) return Error(where + " must be an object with role and content (got " + TypeName(m) + ")");
    if (!m.contains("role") || !m["role"].is_string() || m["role"].get<std::string>().empty())
      return Error(where + ".role must be a non-empty string");
    Message msg;
    msg.role = m["role"].get<std::string>();
    if (!m.contains("content")) return Error(where + " has no content");
    EGRET_ASSIGN_OR_RETURN(msg.content, ContentText(m["content"], where + ".content"));
    if (m.contains("weight")) {
      const json& w = m["weight"];
      if (!w.is_number_integer() || (w.get<int64_t>() != 0 && w.get<int64_t>() != 1))
        return Error(where + ".weight must be 0 or 1 (got " + w.dump() + ")");
      msg.train = w.get<int64_t>() == 1;
    }
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace

const char* KindName(ExampleKind k) {
  switch (k) {
    case ExampleKind::kText: return "text";
    case ExampleKind::kPromptCompletion: return "prompt_completion";
    case ExampleKind::kChat: return "chat";
  }
  return "?";
}

Result<Example> ParseExample(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse with exceptions only to learn where it broke; the message names the byte.
    try {
      json again = json::parse(line);
      (void)again;
    } catch (const json::parse_error& e) {
      // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> "column 5: ..."
      std::string what = e.what();
      auto col = what.find("column ");
      return Error("not valid JSON: " + (col == std::string::npos ? what : what.substr(col)));
    }
    return Error("not valid JSON");
  }
  if (!j.is_object()) return Error("expected a JSON object (got " + TypeName(j) + ")");

  Example ex;
  int shapes = j.contains("text") + j.contains("messages") + (j.contains("prompt") || j.contains("completion"));
  if (shapes == 0)
    return Error("no training field: expected \"text\", \"prompt\"+\"completion\" or \"messages\"");
  if (shapes > 1)
    return Error("ambiguous example: use exactly one of \"text\", \"prompt\"+\"completion\", \"messages\"");

  if (j.contains("text")) {
    if (!j["text"].is_string()) return Error("'text' must be a string (got " + TypeName(j["text"]) + ")");
    ex.kind = ExampleKind::kText;
    ex.text = j["text"].get<std::string>();
    if (ex.text.empty()) return Error("'text' is empty");
    return ex;
  }
  if (j.contains("messages")) {
    ex.kind = ExampleKind::kChat;
    EGRET_ASSIGN_OR_RETURN(ex.messages, ParseMessages(j["messages"], "messages"));
    return ex;
  }
  if (!j.contains("prompt")) return Error("has \"completion\" but no \"prompt\"");
  if (!j.contains("completion")) return Error("has \"prompt\" but no \"completion\"");
  const json& p = j["prompt"];
  const json& c = j["completion"];
  if (p.is_string() && c.is_string()) {
    ex.kind = ExampleKind::kPromptCompletion;
    ex.prompt = p.get<std::string>();
    ex.completion = c.get<std::string>();
    if (ex.completion.empty()) return Error("'completion' is empty");
    return ex;
  }
  if (p.is_array() && c.is_array()) {
    // Conversational prompt/completion: one chat, trained on the completion's turns only.
    ex.kind = ExampleKind::kChat;
    EGRET_ASSIGN_OR_RETURN(auto prompt, ParseMessages(p, "prompt"));
    EGRET_ASSIGN_OR_RETURN(auto completion, ParseMessages(c, "completion"));
    for (auto& m : prompt) m.train = false;
    ex.messages = std::move(prompt);
    ex.messages.insert(ex.messages.end(), completion.begin(), completion.end());
    return ex;
  }
  return Error("'prompt' and 'completion' must both be strings or both be message lists (got " +
               TypeName(p) + " and " + TypeName(c) + ")");
}

}  // namespace egret::data
