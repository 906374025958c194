// egret-train init OUT_DIR --config config.json --tokenizer DIR [--seed N] [--init-std S]:
// a randomly initialised model in Hugging Face layout (config.json, model.safetensors and the
// tokenizer's files), for smoke tests, benchmarks and the demo on machines that cannot
// download a model. Refuses to overwrite a directory that already holds a model.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>

#include "common/fs.h"
#include "mpi_trainer/cli/command.h"
#include "mpi_trainer/io/model_config.h"
#include "mpi_trainer/model/lora.h"
#include "mpi_trainer/model/model.h"

namespace egret::trainer::cli {
namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: egret-train init OUT_DIR --config CONFIG_JSON --tokenizer DIR [--seed N] [--init-std S]\n";

// The tokenizer files a model directory carries (whichever DIR has).
constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json", "vocab.json",
                                           "merges.txt", "encoder.json", "vocab.bpe",
                                           "chat_template.jinja", "special_tokens_map.json"};

Status Init(const std::string& out, const std::string& config_path, const std::string& tokenizer,
            uint64_t seed, float init_std) {
  if (fs::exists(fs::path(out) / "model.safetensors") || fs::exists(fs::path(out) / "config.json"))
    return Error(out + " already holds a model; give an empty or new directory");
  EGRET_ASSIGN_OR_RETURN(auto json, ReadFile(config_path));
  EGRET_ASSIGN_OR_RETURN(auto config, ParseModelConfig(json, config_path));
  if (!fs::exists(fs::path(tokenizer) / "tokenizer.json") && !fs::exists(fs::path(tokenizer) / "vocab.json") &&
      !fs::exists(fs::path(tokenizer) / "encoder.json"))
    return Error(tokenizer + " holds no tokenizer (tokenizer.json, or GPT-2's vocab files); --tokenizer "
                 "names a model directory or a directory with tokenizer.json");
  int copied = 0;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Error("cannot create " + out + ": " + ec.message());
  for (const char* f : kTokenizerFiles) {
    fs::path src = fs::path(tokenizer) / f;
    if (!fs::exists(src)) continue;
    fs::copy_file(src, fs::path(out) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return Error("cannot copy " + src.string() + " to " + out + ": " + ec.message());
    ++copied;
  }
  EGRET_ASSIGN_OR_RETURN(auto model, Model::Create(config, seed, init_std));
  // SaveMergedModel writes config.json the way transformers does, from the parsed config.
  EGRET_TRY(SaveMergedModel(*model, out));
  std::printf("%s: %s, %lld parameters, %d tokenizer file(s)\n", out.c_str(), FamilyName(config.family),
              static_cast<long long>(Model::ParameterCount(config)), copied);
  return Ok();
}

int RunInit(const std::vector<std::string>& args) {
  po::options_description opts("egret-train init OUT_DIR [options]");
  opts.add_options()("help,h", "show this help")
      ("config", po::value<std::string>(), "a Hugging Face config.json (the architecture and sizes)")
      ("tokenizer", po::value<std::string>(), "directory with the tokenizer files to copy")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of the random weights")
      ("init-std", po::value<float>()->default_value(0.02f), "standard deviation of the weights");
  po::options_description hidden;
  hidden.add_options()("out", po::value<std::string>(), "output directory");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("out", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-train init: %s\n%s", e.what(), kUsage);
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  if (!vm.count("out") || !vm.count("config") || !vm.count("tokenizer")) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  auto st = Init(vm["out"].as<std::string>(), vm["config"].as<std::string>(), vm["tokenizer"].as<std::string>(),
                 vm["seed"].as<uint64_t>(), vm["init-std"].as<float>());
  if (!st.ok()) {
    std::fprintf(stderr, "egret-train init: %s\n", st.error().message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

EGRET_TRAIN_COMMAND(init, "a randomly initialised model from a config.json and a tokenizer", RunInit);

}  // namespace egret::trainer::cli
