#include "mpi_trainer/chat/chat_template.h"

#include <algorithm>

#include "mpi_trainer/chat/jinja/template.h"

namespace egret::chat {

struct ChatTemplate::Impl {
  std::string name;
  jinja::Template tmpl;
  jinja::Dict token_vars;
  std::vector<std::string> turn_enders;

  Result<jinja::Template::Output> Run(const nlohmann::ordered_json& messages, const RenderOptions& o) const {
    if (!messages.is_array())
      return Error(name + ": messages must be a list of {\"role\": ..., \"content\": ...} objects (got " +
                   std::string(messages.type_name()) + ")");
    for (size_t i = 0; i < messages.size(); ++i) {
      const auto& m = messages[i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
        return Error("messages[" + std::to_string(i) + "] must be an object with a string \"role\" (got " +
                     m.dump().substr(0, 80) + ")");
    }
    jinja::Dict vars;
    vars.Set("messages", jinja::Value::FromJson(messages));
    vars.Set("add_generation_prompt", jinja::Value(o.add_generation_prompt));
    vars.Set("tools", jinja::Value::None());
    vars.Set("documents", jinja::Value::None());
    for (const auto& [k, v] : token_vars.items) vars.Set(k, v);
    if (!o.variables.is_object()) return Error(name + ": template variables must be a JSON object");
    for (auto it = o.variables.begin(); it != o.variables.end(); ++it)
      vars.Set(it.key(), jinja::Value::FromJson(it.value()));
    return tmpl.Render(vars);
  }
};

ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

Result<ChatTemplate> ChatTemplate::Parse(const std::string& source, const std::string& name) {
  EGRET_ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::Parse(source, name));
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  impl->tmpl = std::move(t);
  return ChatTemplate(std::move(impl));
}

void ChatTemplate::SetSpecialTokens(nlohmann::json token_variables, std::vector<std::string> turn_enders) {
  impl_->token_vars = jinja::Dict();
  if (token_variables.is_object())
    for (auto it = token_variables.begin(); it != token_variables.end(); ++it)
      impl_->token_vars.Set(it.key(), jinja::Value::FromJson(nlohmann::ordered_json::parse(it.value().dump())));
  impl_->turn_enders = std::move(turn_enders);
}

const std::string& ChatTemplate::name() const { return impl_->name; }

Result<std::string> ChatTemplate::Render(const nlohmann::ordered_json& messages, const RenderOptions& options) const {
  EGRET_ASSIGN_OR_RETURN(auto out, impl_->Run(messages, options));
  return std::move(out.text);
}

namespace {

// A character no real message holds, to find where a message's content lands.
constexpr const char* kMarker = "\xEE\x80\x80\xEE\x80\x81";  // U+E000 U+E001

size_t CommonPrefix(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size()), k = 0;
  while (k < n && a[k] == b[k]) ++k;
  return k;
}

size_t CommonSuffix(const std::string& a, const std::string& b, size_t limit) {
  size_t k = 0;
  while (k < limit && a[a.size() - 1 - k] == b[b.size() - 1 - k]) ++k;
  return k;
}

}  // namespace

Result<Rendered> ChatTemplate::RenderWithAssistantSpans(const nlohmann::ordered_json& messages,
                                                        const RenderOptions& options) const {
  EGRET_ASSIGN_OR_RETURN(auto full, impl_->Run(messages, options));
  Rendered r;
  r.text = std::move(full.text);
  std::vector<size_t> assistant;
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i]["role"] == "assistant") assistant.push_back(i);

  if (impl_->tmpl.has_generation_blocks()) {
    for (size_t k = 0; k < full.generation_spans.size(); ++k) {
      auto [b, e] = full.generation_spans[k];
      size_t msg = full.generation_spans.size() == assistant.size() ? assistant[k] : SIZE_MAX;
      if (e > b) r.assistant_spans.push_back({b, e, msg});
    }
    return r;
  }

  for (size_t i : assistant) {
    const auto& content = messages[i].value("content", nlohmann::ordered_json());
    auto with_content = [&](const std::string& c) {
      nlohmann::ordered_json v = messages;
      v[i]["content"] = c;
      return impl_->Run(v, options);
    };
    // Start: where the prompt for this turn (messages before it + generation prompt) ends.
    size_t start = std::string::npos;
    if (i > 0) {
      nlohmann::ordered_json before(messages.begin(), messages.begin() + static_cast<long>(i));
      RenderOptions o = options;
      o.add_generation_prompt = true;
      auto prompt = impl_->Run(before, o);
      if (prompt.ok() && r.text.compare(0, prompt->text.size(), prompt->text) == 0) start = prompt->text.size();
    }
    size_t content_end = start;
    if (content.is_string()) {
      if (start == std::string::npos) {
        EGRET_ASSIGN_OR_RETURN(auto v, with_content(std::string(kMarker) + content.get<std::string>()));
        size_t p = CommonPrefix(r.text, v.text);
        if (p < r.text.size()) start = p;
      }
      // End of the content: append a marker and see where the output first differs from
      // the end.
      EGRET_ASSIGN_OR_RETURN(auto v, with_content(content.get<std::string>() + kMarker));
      size_t p = CommonPrefix(r.text, v.text);
      size_t s = CommonSuffix(r.text, v.text, std::min(r.text.size(), v.text.size()) - p);
      if (v.text != r.text) content_end = r.text.size() - s;
    }
    if (start == std::string::npos)
      return Error(impl_->name + ": cannot locate assistant message " + std::to_string(i) +
                   " in the rendered prompt (the template neither renders it after the generation "
                   "prompt nor copies its content)");
    if (content_end == std::string::npos || content_end < start) content_end = start;
    // The turn ends with the template's end-of-turn token, which the model must learn to emit.
    size_t end = content_end;
    size_t best = std::string::npos;
    std::string ender;
    for (const auto& t : impl_->turn_enders) {
      size_t at = r.text.find(t, content_end);
      if (at != std::string::npos && (best == std::string::npos || at < best)) best = at, ender = t;
    }
    size_t next_start = r.text.size();
    if (best != std::string::npos && best + ender.size() <= next_start) end = best + ender.size();
    r.assistant_spans.push_back({start, end, i});
  }
  return r;
}

}  // namespace egret::chat
