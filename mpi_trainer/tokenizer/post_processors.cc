// Post-processors: TemplateProcessing (e.g. Llama 3's BOS), RobertaProcessing,
// BertProcessing, ByteLevel (offsets only, so nothing to do on ids) and Sequence. With
// add_special_tokens false they leave the tokens as they are.
#include <nlohmann/json.hpp>

#include "mpi_trainer/tokenizer/pipeline.h"

namespace egret::tokenizer {
namespace {

class NoOp final : public PostProcessor {
 public:
  void Process(std::vector<Token>*, bool) const override {}
};

// The single-sequence template, flattened: special ids before and after the sequence.
class Template final : public PostProcessor {
 public:
  Template(std::vector<TokenId> before, std::vector<TokenId> after)
      : before_(std::move(before)), after_(std::move(after)) {}
  void Process(std::vector<Token>* tokens, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    uint32_t start = tokens->empty() ? 0 : tokens->front().lo;
    uint32_t end = tokens->empty() ? 0 : tokens->back().hi;
    std::vector<Token> out;
    out.reserve(tokens->size() + before_.size() + after_.size());
    for (TokenId id : before_) out.push_back({id, start, start});
    out.insert(out.end(), tokens->begin(), tokens->end());
    for (TokenId id : after_) out.push_back({id, end, end});
    *tokens = std::move(out);
  }

 private:
  std::vector<TokenId> before_, after_;
};

class SequencePost final : public PostProcessor {
 public:
  explicit SequencePost(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void Process(std::vector<Token>* tokens, bool add_special_tokens) const override {
    for (const auto& s : steps_) s->Process(tokens, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// One template item: a special token or the sequence, as an object or as "name[:type_id]".
Result<std::optional<std::string>> TemplateItem(const nlohmann::json& item, const Where& where) {
  if (item.is_string()) {
    std::string s = item.get<std::string>();
    size_t colon = s.rfind(':');
    std::string name = colon == std::string::npos ? s : s.substr(0, colon);
    if (!name.empty() && name[0] == '$') return std::optional<std::string>();
    return std::optional<std::string>(name);
  }
  if (item.is_object() && item.contains("Sequence")) return std::optional<std::string>();
  if (item.is_object() && item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
      item["SpecialToken"]["id"].is_string())
    return std::optional<std::string>(item["SpecialToken"]["id"].get<std::string>());
  return Error(where + " must be {\"SpecialToken\": {...}} or {\"Sequence\": {...}} (got " + item.dump() + ")");
}

Result<std::unique_ptr<PostProcessor>> MakeTemplate(const nlohmann::json& j, const Where& where) {
  nlohmann::json single = j.value("single", nlohmann::json());
  if (single.is_string()) {
    // "[CLS] $A [SEP]" form.
    nlohmann::json items = nlohmann::json::array();
    std::string s = single.get<std::string>();
    size_t i = 0;
    while (i < s.size()) {
      size_t sp = s.find(' ', i);
      if (sp == std::string::npos) sp = s.size();
      if (sp > i) items.push_back(s.substr(i, sp - i));
      i = sp + 1;
    }
    single = items;
  }
  if (!single.is_array()) return Error(where + ".single must be a list of template items");
  const nlohmann::json specials = j.value("special_tokens", nlohmann::json::object());
  std::vector<TokenId> before, after;
  bool seen_sequence = false;
  for (size_t i = 0; i < single.size(); ++i) {
    Where w = where + ".single[" + std::to_string(i) + "]";
    EGRET_ASSIGN_OR_RETURN(std::optional<std::string> special, TemplateItem(single[i], w));
    if (!special) {
      seen_sequence = true;
      continue;
    }
    auto it = specials.find(*special);
    if (it == specials.end() || !it->contains("ids") || !(*it)["ids"].is_array())
      return Error(w + ": special token " + Quote(*special) + " is not listed in " + where +
                   ".special_tokens with its ids");
    for (const auto& id : (*it)["ids"]) {
      if (!id.is_number_integer()) return Error(where + ".special_tokens[" + Quote(*special) + "].ids must be integers");
      (seen_sequence ? after : before).push_back(id.get<TokenId>());
    }
  }
  return std::unique_ptr<PostProcessor>(new Template(std::move(before), std::move(after)));
}

// RobertaProcessing / BertProcessing: {"cls": [token, id], "sep": [token, id]}.
Result<std::unique_ptr<PostProcessor>> MakeClsSep(const nlohmann::json& j, const Where& where) {
  auto id_of = [&](const char* key) -> Result<TokenId> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[1].is_number_integer())
      return Error(where + "." + key + " must be [token, id]");
    return (*it)[1].get<TokenId>();
  };
  EGRET_ASSIGN_OR_RETURN(TokenId cls, id_of("cls"));
  EGRET_ASSIGN_OR_RETURN(TokenId sep, id_of("sep"));
  return std::unique_ptr<PostProcessor>(new Template({cls}, {sep}));
}

}  // namespace

Result<std::unique_ptr<PostProcessor>> MakePostProcessor(const nlohmann::json& j, const Where& where) {
  using Ptr = std::unique_ptr<PostProcessor>;
  if (j.is_null()) return Ptr();
  EGRET_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "ByteLevel") return Ptr(new NoOp());
  if (type == "TemplateProcessing") return MakeTemplate(j, where);
  if (type == "RobertaProcessing" || type == "BertProcessing") return MakeClsSep(j, where);
  if (type == "Sequence") {
    auto it = j.find("processors");
    if (it == j.end() || !it->is_array()) return Error(where + ".processors must be a list");
    std::vector<Ptr> steps;
    for (size_t i = 0; i < it->size(); ++i) {
      EGRET_ASSIGN_OR_RETURN(Ptr step, MakePostProcessor((*it)[i], where + ".processors[" + std::to_string(i) + "]"));
      if (step) steps.push_back(std::move(step));
    }
    return Ptr(new SequencePost(std::move(steps)));
  }
  return Error(where + ": post-processor type " + Quote(type) +
               " is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, "
               "BertProcessing, Sequence)");
}

}  // namespace egret::tokenizer
