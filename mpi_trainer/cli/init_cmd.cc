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
#include "mpi_trainer/tokenizer/tokenizer.h"
#include "mpi_trainer/train/export.h"

namespace egret::trainer::cli {
namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: egret-train init OUT_DIR --config CONFIG_JSON --tokenizer DIR [--seed N] [--init-std S]\n";

Status Init(const std::string& out, const std::string& config_path, const std::string& tokenizer_dir,
            uint64_t seed, float init_std) {
  if (fs::exists(fs::path(out) / "model.safetensors") || fs::exists(fs::path(out) / "config.json"))
    return Error(out + " already holds a model; give an empty or new directory");
  EGRET_ASSIGN_OR_RETURN(auto json, ReadFile(config_path));
  EGRET_ASSIGN_OR_RETURN(auto config, ParseModelConfig(json, config_path));
  // The model must be usable as written: its tokenizer has to load, not just exist.
  if (auto tok = tokenizer::Tokenizer::Load(tokenizer_dir); !tok.ok())
    return Error(tokenizer_dir + " holds no tokenizer egret-train can load (" + tok.error().message() +
                 "); --tokenizer names a model directory or a directory with tokenizer.json");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Error("cannot create " + out + ": " + ec.message());
  EGRET_TRY(train::CopyTokenizerFiles(tokenizer_dir, out));
  EGRET_ASSIGN_OR_RETURN(auto model, Model::Create(config, seed, init_std));
  // SaveMergedModel writes config.json the way transformers does, from the parsed config.
  EGRET_TRY(SaveMergedModel(*model, out));
  std::printf("%s: %s, %lld parameters\n", out.c_str(), FamilyName(config.family),
              static_cast<long long>(Model::ParameterCount(config)));
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
