// The document encoder egret-data uses: a Hugging Face tokenizer and its chat template.
//   text              tokens of the text (with the tokenizer's BOS, if it adds one) + EOS;
//                     every token is trained on
//   prompt/completion tokens of the prompt (BOS included) + of the completion + EOS; only the
//                     completion and EOS are trained on
//   messages          the chat template's rendering; only tokens overlapping an assistant
//                     turn's span (its content and end-of-turn token, chat_template.h) are
//                     trained on, and not those of turns marked "weight": 0
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "mpi_trainer/data/import.h"
#include "mpi_trainer/tokenizer/tokenizer.h"

namespace egret::data {

// SHA-256 over the tokenizer files of DIR (tokenizer.json or GPT-2's vocab files, plus
// tokenizer_config.json and chat_template.jinja when present). "" when DIR holds none.
Result<std::string> TokenizerFingerprint(const std::string& dir);

class TokenizerEncoder : public DocumentEncoder {
 public:
  // PATH: a model or tokenizer directory, or a tokenizer.json file.
  static Result<std::unique_ptr<TokenizerEncoder>> Load(const std::string& path);
  Result<Document> Encode(const Example& ex) const override;
  std::string Fingerprint() const override { return fingerprint_; }
  int32_t PadId() const override { return pad_; }
  const tokenizer::Tokenizer& tokenizer() const { return tok_; }

 private:
  TokenizerEncoder(tokenizer::Tokenizer tok, std::string fingerprint);
  tokenizer::Tokenizer tok_;
  std::string fingerprint_;
  int32_t eos_ = -1, pad_ = 0;
};

}  // namespace egret::data
