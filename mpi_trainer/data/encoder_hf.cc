#include "mpi_trainer/data/encoder_hf.h"

#include <filesystem>

#include "common/fs.h"
#include "mpi_trainer/data/sha256.h"

namespace egret::data {
namespace fs = std::filesystem;

Result<std::string> TokenizerFingerprint(const std::string& path) {
  std::string dir = fs::is_directory(path) ? path : fs::path(path).parent_path().string();
  Sha256 h;
  bool any = false;
  for (std::string name : {"tokenizer.json", "encoder.json", "vocab.bpe", "vocab.json", "merges.txt",
                           "tokenizer_config.json", "chat_template.jinja"}) {
    std::string p = dir + "/" + name;
    if (!fs::exists(p)) continue;
    EGRET_ASSIGN_OR_RETURN(std::string bytes, ReadFile(p));
    h.Update(name + "\n" + std::to_string(bytes.size()) + "\n");
    h.Update(bytes);
    any |= name != "tokenizer_config.json" && name != "chat_template.jinja";
  }
  return any ? h.Hex() : std::string();
}

TokenizerEncoder::TokenizerEncoder(tokenizer::Tokenizer tok, std::string fingerprint)
    : tok_(std::move(tok)), fingerprint_(std::move(fingerprint)) {
  const auto& s = tok_.special_ids();
  eos_ = s.eos.value_or(-1);
  pad_ = s.pad ? *s.pad : (s.eos ? *s.eos : 0);
}

Result<std::unique_ptr<TokenizerEncoder>> TokenizerEncoder::Load(const std::string& path) {
  EGRET_ASSIGN_OR_RETURN(auto tok, tokenizer::Tokenizer::Load(path));
  EGRET_ASSIGN_OR_RETURN(std::string fp, TokenizerFingerprint(path));
  if (fp.empty()) return Error(path + ": no tokenizer files found (tokenizer.json or encoder.json + vocab.bpe)");
  return std::unique_ptr<TokenizerEncoder>(new TokenizerEncoder(std::move(tok), std::move(fp)));
}

Result<Document> TokenizerEncoder::Encode(const Example& ex) const {
  Document d;
  auto append = [&](const std::vector<int32_t>& ids, uint8_t m) {
    d.ids.insert(d.ids.end(), ids.begin(), ids.end());
    d.mask.insert(d.mask.end(), ids.size(), m);
  };
  auto add_eos = [&] {
    if (eos_ >= 0 && (d.ids.empty() || d.ids.back() != eos_)) append({eos_}, 1);
  };
  switch (ex.kind) {
    case ExampleKind::kText: {
      EGRET_ASSIGN_OR_RETURN(auto ids, tok_.Encode(ex.text, true));
      append(ids, 1);
      add_eos();
      break;
    }
    case ExampleKind::kPromptCompletion: {
      EGRET_ASSIGN_OR_RETURN(auto p, tok_.Encode(ex.prompt, true));
      EGRET_ASSIGN_OR_RETURN(auto c, tok_.Encode(ex.completion, false));
      if (c.empty()) return Error("'completion' has no tokens");
      append(p, 0);
      append(c, 1);
      add_eos();
      break;
    }
    case ExampleKind::kChat: {
      nlohmann::json messages = nlohmann::json::array();
      bool any_trained = false;
      for (const auto& m : ex.messages) {
        messages.push_back({{"role", m.role}, {"content", m.content}});
        any_trained |= m.role == "assistant" && m.train;
      }
      if (!any_trained) return Error("no assistant message to train on");
      EGRET_ASSIGN_OR_RETURN(auto enc, tok_.EncodeChat(messages, chat::RenderOptions{}));
      d.ids = enc.ids;
      d.mask = enc.assistant_mask;
      bool all_trained = true;
      for (const auto& m : ex.messages) all_trained &= m.role != "assistant" || m.train;
      if (!all_trained) {
        // Keep only the spans of turns to train on: a token is trained when it overlaps one.
        EGRET_ASSIGN_OR_RETURN(auto e, tok_.EncodeWithOffsets(enc.text, false));
        if (e.ids != enc.ids) return Error("tokenization of the rendered chat is not stable");
        d.mask.assign(d.ids.size(), 0);
        for (size_t i = 0; i < e.ids.size(); ++i)
          for (const auto& s : enc.assistant_spans)
            if (s.message < ex.messages.size() && ex.messages[s.message].train && e.offsets[i].first < s.end &&
                s.begin < e.offsets[i].second)
              d.mask[i] = 1;
      }
      bool any = false;
      for (size_t i = 1; i < d.mask.size(); ++i) any |= d.mask[i] != 0;
      if (!any) return Error("the chat template rendered no assistant tokens to train on");
      break;
    }
  }
  if (d.ids.size() < 2) return Error("fewer than 2 tokens: nothing to predict");
  return d;
}

}  // namespace egret::data
