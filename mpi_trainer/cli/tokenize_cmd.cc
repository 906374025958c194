// egret-train tokenize: encode text (or a chat) with a model's tokenizer, or decode ids.
//   egret-train tokenize --tokenizer PATH [--text STR | stdin] [--no-special]
//   egret-train tokenize --tokenizer PATH --chat MESSAGES.json [--generation-prompt]
//   egret-train tokenize --tokenizer PATH --decode [--text '[1,2,3]' | stdin] [--no-special]
// Prints one JSON object: {"ids": [...]}, with --chat also "prompt" and "assistant_mask",
// with --decode {"text": "..."}.
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "mpi_trainer/cli/command.h"
#include "mpi_trainer/tokenizer/tokenizer.h"

namespace po = boost::program_options;

namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "egret-train tokenize: %s\n", msg.c_str());
  return 1;
}

std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

int RunTokenize(const std::vector<std::string>& args) {
  po::options_description opts("egret-train tokenize options");
  opts.add_options()("help,h", "show this help")
      ("tokenizer", po::value<std::string>(), "tokenizer directory or tokenizer.json (required)")
      ("text", po::value<std::string>(), "text to encode, or with --decode a JSON list of ids (default: stdin)")
      ("chat", po::value<std::string>(), "JSON file of messages [{\"role\":..,\"content\":..}] to render and encode")
      ("generation-prompt", "with --chat: end with the assistant's generation prompt")
      ("vars", po::value<std::string>(), "with --chat: JSON object of more template variables (tools, ...)")
      ("decode", "decode a JSON list of ids to text")
      ("no-special", "encode: do not add BOS/EOS; decode: drop special tokens");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-train tokenize: %s\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: egret-train tokenize --tokenizer PATH [--text STR | stdin] [--chat MESSAGES.json] "
                 "[--decode] [--no-special]\n"
              << opts;
    return 0;
  }
  if (!vm.count("tokenizer")) {
    std::fprintf(stderr, "egret-train tokenize: --tokenizer PATH is required\n");
    return 2;
  }
  auto tok = egret::tokenizer::Tokenizer::Load(vm["tokenizer"].as<std::string>());
  if (!tok.ok()) return Fail(tok.error().message());
  const bool no_special = vm.count("no-special") > 0;
  nlohmann::json out;

  if (vm.count("chat")) {
    auto text = egret::ReadFile(vm["chat"].as<std::string>());
    if (!text.ok()) return Fail(text.error().message());
    nlohmann::ordered_json messages = nlohmann::ordered_json::parse(*text, nullptr, false);
    if (messages.is_discarded()) return Fail(vm["chat"].as<std::string>() + ": not valid JSON");
    if (messages.is_object() && messages.contains("messages")) messages = messages["messages"];
    egret::chat::RenderOptions options;
    options.add_generation_prompt = vm.count("generation-prompt") > 0;
    if (vm.count("vars")) {
      options.variables = nlohmann::ordered_json::parse(vm["vars"].as<std::string>(), nullptr, false);
      if (!options.variables.is_object()) return Fail("--vars must be a JSON object");
    }
    auto enc = tok->EncodeChat(messages, options);
    if (!enc.ok()) return Fail(enc.error().message());
    out["prompt"] = enc->text;
    out["ids"] = enc->ids;
    out["assistant_mask"] = enc->assistant_mask;
  } else {
    std::string input = vm.count("text") ? vm["text"].as<std::string>() : ReadStdin();
    if (vm.count("decode")) {
      nlohmann::json ids = nlohmann::json::parse(input, nullptr, false);
      if (!ids.is_array()) return Fail("--decode reads a JSON list of token ids (got: " + input.substr(0, 60) + ")");
      std::vector<egret::tokenizer::TokenId> v;
      for (const auto& x : ids) {
        if (!x.is_number_integer()) return Fail("--decode: " + x.dump() + " is not a token id");
        v.push_back(x.get<egret::tokenizer::TokenId>());
      }
      auto text = tok->Decode(v, no_special);
      if (!text.ok()) return Fail(text.error().message());
      out["text"] = *text;
    } else {
      auto ids = tok->Encode(input, !no_special);
      if (!ids.ok()) return Fail(ids.error().message());
      out["ids"] = *ids;
    }
  }
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

EGRET_TRAIN_COMMAND(tokenize, "encode/decode text and render chats with a model's tokenizer", RunTokenize);
