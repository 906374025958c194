#include "mpi_trainer/chat/chat_template.h"

namespace egret::chat {
struct ChatTemplate::Impl {
  std::string name;
};
ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;
Result<ChatTemplate> ChatTemplate::Parse(const std::string&, const std::string& name) {
  auto i = std::make_unique<Impl>();
  i->name = name;
  return ChatTemplate(std::move(i));
}
void ChatTemplate::SetSpecialTokens(nlohmann::json, std::vector<std::string>) {}
Result<std::string> ChatTemplate::Render(const nlohmann::json&, const RenderOptions&) const {
  return Error("todo");
}
Result<Rendered> ChatTemplate::RenderWithAssistantSpans(const nlohmann::json&, const RenderOptions&) const {
  return Error("todo");
}
const std::string& ChatTemplate::name() const { return impl_->name; }
}  // namespace egret::chat
