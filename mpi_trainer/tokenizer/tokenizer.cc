#include "mpi_trainer/tokenizer/tokenizer.h"

#include <sys/stat.h>

#include <algorithm>

#include "common/fs.h"
#include "mpi_trainer/tokenizer/added_vocab.h"
#include "mpi_trainer/tokenizer/bpe.h"
#include "mpi_trainer/tokenizer/load.h"
#include "mpi_trainer/tokenizer/pipeline.h"
#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {

struct Tokenizer::Impl {
  std::string source;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Bpe> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedVocab added;
  SpecialIds special;
  size_t vocab_size = 0;
  std::optional<chat::ChatTemplate> chat;
  std::optional<Error> chat_error;  // why there is no usable template

  Status EncodeInto(std::string_view text, bool add_special, bool track, std::vector<Token>* out) const;
};

namespace {

bool IsDir(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool IsFile(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

struct Assembler {
  static Result<Tokenizer> Assemble(Parts parts, const std::string& config_text, const std::string& config_name,
                                    const std::optional<std::string>& jinja, const std::string& jinja_name,
                                    const std::string& source);
};

Result<Tokenizer> Assembler::Assemble(Parts parts, const std::string& config_text,
                                      const std::string& config_name,
                                      const std::optional<std::string>& jinja,
                                      const std::string& jinja_name, const std::string& source) {
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->source = source;
  impl->normalizer = std::move(parts.normalizer);
  impl->pre_tokenizer = std::move(parts.pre_tokenizer);
  impl->model = std::move(parts.model);
  impl->post_processor = std::move(parts.post_processor);
  impl->decoder = std::move(parts.decoder);
  impl->vocab_size = impl->model->Size();
  for (const auto& t : parts.added) impl->vocab_size = std::max(impl->vocab_size, static_cast<size_t>(t.id) + 1);
  impl->added.Build(std::move(parts.added), impl->normalizer.get());

  EGRET_ASSIGN_OR_RETURN(Config config, ParseConfig(config_text, config_name));
  auto id_of = [&](const std::optional<std::string>& tok) -> std::optional<TokenId> {
    if (!tok) return std::nullopt;
    if (auto id = impl->added.ByContent(*tok)) return id;
    return impl->model->TokenToId(*tok);
  };
  impl->special.bos = id_of(config.bos_token);
  impl->special.eos = id_of(config.eos_token);
  impl->special.pad = id_of(config.pad_token);
  impl->special.unk = id_of(config.unk_token);
  if (config_text.empty() && parts.gpt2_defaults) {
    impl->special.bos = impl->special.eos = id_of(std::string("<|endoftext|>"));
  }

  std::optional<std::string> template_text = config.chat_template;
  std::string template_name = config_name + ": chat_template";
  if (jinja) {
    template_text = jinja;
    template_name = jinja_name;
  }
  if (config.chat_template_error) {
    impl->chat_error = *config.chat_template_error;
  } else if (!template_text) {
    impl->chat_error = Error(source + " has no chat template (no chat_template in tokenizer_config.json, "
                                      "no chat_template.jinja): it is a base tokenizer; render prompts yourself "
                                      "or use a tokenizer from an instruction-tuned model");
  } else {
    auto parsed = chat::ChatTemplate::Parse(*template_text, template_name);
    if (!parsed.ok()) {
      impl->chat_error = parsed.error();
    } else {
      std::vector<std::string> enders;
      for (const auto& t : impl->added.tokens())
        if (t.special) enders.push_back(t.content);
      parsed->SetSpecialTokens(config.token_variables, std::move(enders));
      impl->chat.emplace(std::move(parsed.value()));
    }
  }
  return Tokenizer(std::move(impl));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::Load(const std::string& path) {
  std::string dir, tokenizer_json;
  if (IsDir(path)) {
    dir = path;
    if (IsFile(dir + "/tokenizer.json")) tokenizer_json = dir + "/tokenizer.json";
  } else if (IsFile(path)) {
    size_t slash = path.rfind('/');
    dir = slash == std::string::npos ? "." : path.substr(0, slash);
    tokenizer_json = path;
  } else {
    return Error(path + ": no such tokenizer file or directory");
  }
  std::string config;
  if (IsFile(dir + "/tokenizer_config.json")) {
    EGRET_ASSIGN_OR_RETURN(config, ReadFile(dir + "/tokenizer_config.json"));
  }
  std::optional<std::string> jinja;
  if (IsFile(dir + "/chat_template.jinja")) {
    EGRET_ASSIGN_OR_RETURN(std::string t, ReadFile(dir + "/chat_template.jinja"));
    jinja = std::move(t);
  }
  Parts parts;
  if (!tokenizer_json.empty()) {
    EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(tokenizer_json));
    EGRET_ASSIGN_OR_RETURN(parts, PartsFromTokenizerJson(text, tokenizer_json));
  } else {
    EGRET_ASSIGN_OR_RETURN(parts, PartsFromVocabFiles(dir));
  }
  return Assembler::Assemble(std::move(parts), config, dir + "/tokenizer_config.json", jinja,
                             dir + "/chat_template.jinja", tokenizer_json.empty() ? dir : tokenizer_json);
}

Result<Tokenizer> Tokenizer::FromJson(std::string_view tokenizer_json, std::string_view config_json,
                                      const std::string& name) {
  EGRET_ASSIGN_OR_RETURN(Parts parts, PartsFromTokenizerJson(tokenizer_json, name));
  return Assembler::Assemble(std::move(parts), std::string(config_json), name + " (tokenizer_config)",
                             std::nullopt, "", name);
}

Status Tokenizer::Impl::EncodeInto(std::string_view text, bool add_special, bool track,
                                   std::vector<Token>* out) const {
  size_t bad = FindInvalidUtf8(text);
  if (bad != std::string_view::npos)
    return Error("text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  std::vector<AddedVocab::Segment> raw, norm;
  std::vector<Aligned> pieces;
  added.Split(text, false, &raw);
  for (const auto& seg : raw) {
    if (seg.id) {
      out->push_back({*seg.id, static_cast<uint32_t>(seg.begin), static_cast<uint32_t>(seg.end)});
      continue;
    }
    Aligned a = Aligned::Original(text.substr(seg.begin, seg.end - seg.begin),
                                  static_cast<uint32_t>(seg.begin), track);
    a.at_start = seg.begin == 0;
    if (normalizer) a = normalizer->Normalize(a);
    norm.clear();
    added.Split(a.text, true, &norm);
    for (const auto& sub : norm) {
      if (sub.id) {
        out->push_back({*sub.id, a.Begin(sub.begin), a.End(sub.end)});
        continue;
      }
      pieces.clear();
      pieces.push_back(norm.size() == 1 ? std::move(a) : a.Slice(sub.begin, sub.end));
      if (pre_tokenizer) EGRET_TRY(pre_tokenizer->Split(&pieces));
      for (const auto& p : pieces) model->Tokenize(p, out);
      if (norm.size() == 1) break;
    }
  }
  if (post_processor) post_processor->Process(out, add_special);
  return Ok();
}

Result<std::vector<TokenId>> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::vector<Token> tokens;
  tokens.reserve(text.size() / 3 + 4);
  EGRET_TRY(impl_->EncodeInto(text, add_special_tokens, false, &tokens));
  std::vector<TokenId> ids(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) ids[i] = tokens[i].id;
  return ids;
}

Result<Encoding> Tokenizer::EncodeWithOffsets(std::string_view text, bool add_special_tokens) const {
  std::vector<Token> tokens;
  EGRET_TRY(impl_->EncodeInto(text, add_special_tokens, true, &tokens));
  Encoding e;
  e.ids.reserve(tokens.size());
  e.offsets.reserve(tokens.size());
  for (const auto& t : tokens) {
    e.ids.push_back(t.id);
    e.offsets.emplace_back(t.lo, t.hi);
  }
  return e;
}

Result<std::string> Tokenizer::Decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    if (const AddedToken* t = impl_->added.ById(id)) {
      if (skip_special_tokens && t->special) continue;
      tokens.push_back(t->content);
    } else if (const std::string* s = impl_->model->IdToToken(id)) {
      if (skip_special_tokens && impl_->added.IsSpecialContent(*s)) continue;
      tokens.push_back(*s);
    } else {
      return Error("token id " + std::to_string(id) + " is not in the vocabulary of " + impl_->source +
                   " (ids 0.." + std::to_string(impl_->vocab_size - 1) + ")");
    }
  }
  if (!impl_->decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  std::string out;
  for (auto& s : impl_->decoder->DecodeChain(std::move(tokens))) out += s;
  return out;
}

std::optional<TokenId> Tokenizer::TokenToId(std::string_view token) const {
  if (auto id = impl_->added.ByContent(token)) return id;
  return impl_->model->TokenToId(token);
}

std::optional<std::string> Tokenizer::IdToToken(TokenId id) const {
  if (const AddedToken* t = impl_->added.ById(id)) return t->content;
  if (const std::string* s = impl_->model->IdToToken(id)) return *s;
  return std::nullopt;
}

size_t Tokenizer::VocabSize() const { return impl_->vocab_size; }

bool Tokenizer::IsSpecial(TokenId id) const {
  const AddedToken* t = impl_->added.ById(id);
  return t && t->special;
}

const SpecialIds& Tokenizer::special_ids() const { return impl_->special; }
const std::string& Tokenizer::source() const { return impl_->source; }

bool Tokenizer::HasChatTemplate() const { return impl_->chat.has_value(); }

Result<std::string> Tokenizer::RenderChat(const nlohmann::ordered_json& messages,
                                          const chat::RenderOptions& options) const {
  if (!impl_->chat) return *impl_->chat_error;
  return impl_->chat->Render(messages, options);
}

Result<ChatEncoding> Tokenizer::EncodeChat(const nlohmann::ordered_json& messages,
                                           const chat::RenderOptions& options) const {
  if (!impl_->chat) return *impl_->chat_error;
  EGRET_ASSIGN_OR_RETURN(chat::Rendered r, impl_->chat->RenderWithAssistantSpans(messages, options));
  EGRET_ASSIGN_OR_RETURN(Encoding e, EncodeWithOffsets(r.text, false));
  ChatEncoding out;
  out.ids = std::move(e.ids);
  out.assistant_mask.assign(out.ids.size(), 0);
  // A token belongs to the assistant when its text overlaps an assistant span.
  for (size_t i = 0; i < out.ids.size(); ++i) {
    auto [lo, hi] = e.offsets[i];
    for (const auto& s : r.assistant_spans)
      if (lo < s.end && s.begin < hi) out.assistant_mask[i] = 1;
  }
  out.text = std::move(r.text);
  out.assistant_spans = std::move(r.assistant_spans);
  return out;
}

}  // namespace egret::tokenizer
