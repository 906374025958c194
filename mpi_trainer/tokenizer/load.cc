#include "mpi_trainer/tokenizer/load.h"

#include <sys/stat.h>

#include "common/fs.h"
#include "common/strings.h"

namespace egret::tokenizer {
namespace {

Result<nlohmann::json> ParseJson(std::string_view text, const std::string& name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::string msg = e.what();
    size_t close = msg.find("] ");
    if (msg.rfind("[json.exception", 0) == 0 && close != std::string::npos) msg = msg.substr(close + 2);
    return Error(name + ": not valid JSON: " + msg);
  }
}

bool Exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

Result<std::vector<AddedToken>> ParseAdded(const nlohmann::json& j, const Where& where) {
  std::vector<AddedToken> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Error(where + " must be a list");
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    Where w = where + "[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer() || e["id"].get<int64_t>() < 0)
      return Error(w + ".id must be a non-negative integer");
    EGRET_ASSIGN_OR_RETURN(std::string content, GetString(e, "content", w));
    AddedToken t;
    t.content = std::move(content);
    t.id = e["id"].get<TokenId>();
    EGRET_ASSIGN_OR_RETURN(t.special, GetBool(e, "special", false, w));
    EGRET_ASSIGN_OR_RETURN(t.single_word, GetBool(e, "single_word", false, w));
    EGRET_ASSIGN_OR_RETURN(t.lstrip, GetBool(e, "lstrip", false, w));
    EGRET_ASSIGN_OR_RETURN(t.rstrip, GetBool(e, "rstrip", false, w));
    EGRET_ASSIGN_OR_RETURN(t.normalized, GetBool(e, "normalized", !t.special, w));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

Result<Parts> PartsFromTokenizerJson(std::string_view text, const std::string& name) {
  EGRET_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text, name));
  if (!j.is_object()) return Error(name + ": not a tokenizer.json (the top level is not an object)");
  auto model = j.find("model");
  if (model == j.end() || !model->is_object())
    return Error(name + ": no \"model\" section: not a Hugging Face tokenizer.json");
  std::string type = model->value("type", std::string());
  if (type.empty() && model->contains("merges")) type = "BPE";  // the type tag is optional
  if (type != "BPE")
    return Error(name + ": model.type " + Quote(type) +
                 " is not supported: Egret reads BPE tokenizers (byte-level as in GPT-2, Llama 3, "
                 "Qwen, gpt-oss; SentencePiece-style as in Llama 2, Mistral), not WordPiece, "
                 "Unigram or WordLevel");
  Parts p;
  auto ctx = [&](const Error& e) { return e.context(name); };
  auto section = [&](const char* key) { return j.contains(key) ? j[key] : nlohmann::json(); };
  if (auto r = Bpe::FromJson(*model, "model"); r.ok()) p.model = std::move(r.value());
  else return ctx(r.error());
  if (auto r = MakeNormalizer(section("normalizer"), "normalizer"); r.ok()) p.normalizer = std::move(r.value());
  else return ctx(r.error());
  if (auto r = MakePreTokenizer(section("pre_tokenizer"), "pre_tokenizer"); r.ok()) p.pre_tokenizer = std::move(r.value());
  else return ctx(r.error());
  if (auto r = MakePostProcessor(section("post_processor"), "post_processor"); r.ok()) p.post_processor = std::move(r.value());
  else return ctx(r.error());
  if (auto r = MakeDecoder(section("decoder"), "decoder"); r.ok()) p.decoder = std::move(r.value());
  else return ctx(r.error());
  if (auto r = ParseAdded(section("added_tokens"), "added_tokens"); r.ok()) p.added = std::move(r.value());
  else return ctx(r.error());
  return p;
}

Result<Parts> PartsFromVocabFiles(const std::string& dir) {
  std::string vocab_path, merges_path;
  if (Exists(dir + "/encoder.json") && Exists(dir + "/vocab.bpe")) {
    vocab_path = dir + "/encoder.json";
    merges_path = dir + "/vocab.bpe";
  } else if (Exists(dir + "/vocab.json") && Exists(dir + "/merges.txt")) {
    vocab_path = dir + "/vocab.json";
    merges_path = dir + "/merges.txt";
  } else {
    return Error(dir + ": not a tokenizer directory: it has no tokenizer.json, and no encoder.json + "
                       "vocab.bpe (or vocab.json + merges.txt)");
  }
  EGRET_ASSIGN_OR_RETURN(std::string vocab_text, ReadFile(vocab_path));
  EGRET_ASSIGN_OR_RETURN(nlohmann::json vj, ParseJson(vocab_text, vocab_path));
  if (!vj.is_object()) return Error(vocab_path + ": must be an object of token -> id");
  Bpe::Vocab vocab;
  for (auto it = vj.begin(); it != vj.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      return Error(vocab_path + ": " + Quote(it.key()) + " must map to a non-negative integer id (got " +
                   it.value().dump() + ")");
    vocab.emplace(it.key(), it.value().get<TokenId>());
  }
  EGRET_ASSIGN_OR_RETURN(std::string merges_text, ReadFile(merges_path));
  Bpe::Merges merges;
  std::vector<std::string> lines = Split(merges_text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
      return Error(merges_path + ":" + std::to_string(i + 1) + ": " + Quote(line) +
                   " must be two tokens separated by one space");
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  Parts p;
  bool has_eot = vocab.count("<|endoftext|>") > 0;
  TokenId eot = has_eot ? vocab["<|endoftext|>"] : 0;
  EGRET_ASSIGN_OR_RETURN(p.model, Bpe::Build(std::move(vocab), merges, BpeOptions{}, merges_path));
  // GPT-2's pipeline, as transformers builds it from these files.
  EGRET_ASSIGN_OR_RETURN(p.pre_tokenizer,
                         MakePreTokenizer({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}},
                                          "pre_tokenizer"));
  EGRET_ASSIGN_OR_RETURN(p.decoder, MakeDecoder({{"type", "ByteLevel"}}, "decoder"));
  if (has_eot) {
    AddedToken t;
    t.content = "<|endoftext|>";
    t.id = eot;
    t.special = true;
    t.normalized = false;
    p.added.push_back(t);
  }
  p.gpt2_defaults = true;
  return p;
}

Result<Config> ParseConfig(std::string_view text, const std::string& name) {
  Config c;
  if (text.empty()) return c;
  EGRET_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text, name));
  if (!j.is_object()) return Error(name + ": must be a JSON object");
  // Special tokens are strings, or objects {"content": ...} (serialized AddedToken).
  auto token = [&](const nlohmann::json& v, const std::string& key) -> Result<std::optional<std::string>> {
    if (v.is_null()) return std::optional<std::string>();
    if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
    if (v.is_object() && v.contains("content") && v["content"].is_string())
      return std::optional<std::string>(v["content"].get<std::string>());
    return Error(name + ": " + key + " must be a string, {\"content\": ...} or null (got " + v.dump() + ")");
  };
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"}) {
    if (!j.contains(key)) continue;
    EGRET_ASSIGN_OR_RETURN(std::optional<std::string> t, token(j[key], key));
    if (!t) continue;
    c.token_variables[key] = *t;
    std::string k = key;
    if (k == "bos_token") c.bos_token = t;
    if (k == "eos_token") c.eos_token = t;
    if (k == "pad_token") c.pad_token = t;
    if (k == "unk_token") c.unk_token = t;
  }
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& v : j["additional_special_tokens"]) {
      EGRET_ASSIGN_OR_RETURN(std::optional<std::string> t, token(v, "additional_special_tokens[]"));
      if (t) list.push_back(*t);
    }
    c.token_variables["additional_special_tokens"] = list;
  }
  auto ct = j.find("chat_template");
  if (ct != j.end() && !ct->is_null()) {
    if (ct->is_string()) {
      c.chat_template = ct->get<std::string>();
    } else if (ct->is_array()) {
      // Named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}].
      std::vector<std::string> names;
      for (const auto& e : *ct) {
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") ||
            !e["template"].is_string()) {
          c.chat_template_error = Error(name + ": chat_template list entries must be {\"name\": ..., \"template\": ...}");
          return c;
        }
        names.push_back(e["name"].get<std::string>());
        if (names.back() == "default") c.chat_template = e["template"].get<std::string>();
      }
      if (!c.chat_template)
        c.chat_template_error = Error(name + ": chat_template lists templates [" + Join(names, ", ") +
                                      "] but none named \"default\"");
    } else {
      c.chat_template_error = Error(name + ": chat_template must be a string or a list of named templates (got " +
                                    std::string(ct->type_name()) + ")");
    }
  }
  return c;
}

}  // namespace egret::tokenizer
