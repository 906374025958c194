// egret-train inspect MODEL_DIR [--json]: what a model directory holds, read from config.json
// and the safetensors headers (no weights are loaded).
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "mpi_trainer/cli/command.h"
#include "mpi_trainer/io/model_config.h"
#include "mpi_trainer/io/weights.h"
#include "mpi_trainer/model/model.h"

namespace egret::trainer::cli {
namespace {

namespace po = boost::program_options;

const char* RopeName(RopeType t) {
  switch (t) {
    case RopeType::kNone: return "none (learned positions)";
    case RopeType::kDefault: return "default";
    case RopeType::kLinear: return "linear";
    case RopeType::kLlama3: return "llama3";
  }
  return "?";
}

int RunInspect(const std::vector<std::string>& args) {
  po::options_description opts("egret-train inspect MODEL_DIR [options]");
  opts.add_options()("help,h", "show this help")("json", "print JSON instead of a table");
  po::options_description hidden;
  hidden.add_options()("model", po::value<std::string>(), "model directory");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-train inspect: %s\n%s", e.what(), "usage: egret-train inspect MODEL_DIR [--json]\n");
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  if (!vm.count("model")) {
    std::fprintf(stderr, "usage: egret-train inspect MODEL_DIR [--json]\n");
    return 2;
  }
  const std::string dir = vm["model"].as<std::string>();
  auto config = LoadModelConfig(dir);
  if (!config.ok()) {
    std::fprintf(stderr, "egret-train inspect: %s\n", config.error().message().c_str());
    return 1;
  }
  auto weights = io::WeightSource::Open(dir);
  if (!weights.ok()) {
    std::fprintf(stderr, "egret-train inspect: %s\n", weights.error().message().c_str());
    return 1;
  }
  const ModelConfig& c = *config;
  nlohmann::ordered_json j;
  j["model"] = dir;
  j["family"] = FamilyName(c.family);
  j["layers"] = c.num_layers;
  j["hidden_size"] = c.hidden_size;
  j["num_heads"] = c.num_heads;
  j["num_kv_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["parameters"] = Model::ParameterCount(c);
  j["tied_embeddings"] = c.tie_word_embeddings;
  j["norm"] = c.gpt2() ? "layernorm" : "rmsnorm";
  j["activation"] = ActivationName(c.activation);
  j["rope"] = {{"type", RopeName(c.rope.type)}, {"theta", c.rope.theta}, {"factor", c.rope.factor}};
  j["sliding_window"] = c.sliding_window;
  j["qkv_bias"] = c.qkv_bias;
  j["qk_norm"] = c.qk_norm;
  j["dtypes"] = weights->DTypeCounts();
  j["tensors"] = weights->entries().size();
  j["weights"] = weights->description();
  if (vm.count("json")) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::string dtypes;
  for (const auto& [k, v] : weights->DTypeCounts()) dtypes += (dtypes.empty() ? "" : ", ") + k + " x" + std::to_string(v);
  std::string windows;
  for (int w : c.sliding_window) windows += (windows.empty() ? "" : " ") + (w ? std::to_string(w) : std::string("full"));
  std::printf("%-20s %s\n", "model", dir.c_str());
  std::printf("%-20s %s\n", "family", FamilyName(c.family));
  std::printf("%-20s %d\n", "layers", c.num_layers);
  std::printf("%-20s %d\n", "hidden size", c.hidden_size);
  std::printf("%-20s %d\n", "attention heads", c.num_heads);
  std::printf("%-20s %d\n", "kv heads", c.num_kv_heads);
  std::printf("%-20s %d\n", "head dim", c.head_dim);
  std::printf("%-20s %d\n", "intermediate size", c.intermediate_size);
  std::printf("%-20s %d\n", "vocab size", c.vocab_size);
  std::printf("%-20s %d\n", "max positions", c.max_position_embeddings);
  std::printf("%-20s %lld\n", "parameters", static_cast<long long>(Model::ParameterCount(c)));
  std::printf("%-20s %s\n", "tied embeddings", c.tie_word_embeddings ? "yes" : "no");
  std::printf("%-20s %s, %s\n", "norm, activation", c.gpt2() ? "layernorm" : "rmsnorm", ActivationName(c.activation));
  std::printf("%-20s %s (theta %g, factor %g)\n", "rope", RopeName(c.rope.type), c.rope.theta, c.rope.factor);
  std::printf("%-20s %s\n", "attention window", windows.c_str());
  std::printf("%-20s %s\n", "dtypes on disk", dtypes.c_str());
  std::printf("%-20s %s\n", "weights", weights->description().c_str());
  return 0;
}

}  // namespace

EGRET_TRAIN_COMMAND(inspect, "family, sizes, parameter count and on-disk dtypes of a model", RunInspect);

}  // namespace egret::trainer::cli
