// Reading tokenizer files into pipeline stages: tokenizer.json, GPT-2's encoder.json +
// vocab.bpe (or vocab.json + merges.txt), and tokenizer_config.json. Internal.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "mpi_trainer/tokenizer/added_vocab.h"
#include "mpi_trainer/tokenizer/bpe.h"
#include "mpi_trainer/tokenizer/pipeline.h"

namespace egret::tokenizer {

struct Parts {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Bpe> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  std::vector<AddedToken> added;
  bool gpt2_defaults = false;  // <|endoftext|> is BOS and EOS when no config says otherwise
};

// NAME (the file) prefixes every error.
Result<Parts> PartsFromTokenizerJson(std::string_view text, const std::string& name);
Result<Parts> PartsFromVocabFiles(const std::string& dir);

struct Config {
  std::optional<std::string> bos_token, eos_token, pad_token, unk_token;
  // bos_token, eos_token, ... as strings, for chat templates.
  nlohmann::json token_variables = nlohmann::json::object();
  std::optional<std::string> chat_template;  // the default one
  std::optional<Error> chat_template_error;  // malformed chat_template field
};

// TEXT may be empty (no tokenizer_config.json).
Result<Config> ParseConfig(std::string_view text, const std::string& name);

}  // namespace egret::tokenizer
