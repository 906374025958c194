// egret-train score: loss, logits, gradient norms and a greedy continuation of a model (and
// optionally a PEFT adapter) on rows of token ids, as JSON.
#include <cmath>
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "mpi_trainer/cli/command.h"
#include "mpi_trainer/model/lora.h"
#include "mpi_trainer/model/model.h"
#include "mpi_trainer/model/threads.h"

namespace egret::trainer::cli {
namespace {

namespace po = boost::program_options;
using nlohmann::json;

Result<std::vector<std::vector<int32_t>>> ReadRows(const std::string& path) {
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, false);
  const std::string want = ": must be a JSON list of equal-length lists of token ids";
  if (j.is_discarded() || !j.is_array() || j.empty()) return Error(path + want);
  std::vector<std::vector<int32_t>> rows;
  for (size_t r = 0; r < j.size(); ++r) {
    if (!j[r].is_array() || j[r].empty()) return Error(path + ": row " + std::to_string(r) + want);
    std::vector<int32_t> row;
    for (const auto& t : j[r]) {
      if (!t.is_number_integer()) return Error(path + ": row " + std::to_string(r) + ": " + t.dump() + " is not a token id");
      row.push_back(t.get<int32_t>());
    }
    if (!rows.empty() && row.size() != rows[0].size())
      return Error(path + ": row " + std::to_string(r) + " has " + std::to_string(row.size()) +
                   " tokens, row 0 has " + std::to_string(rows[0].size()) + " (rows must be equal length)");
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<json> Score(const po::variables_map& vm) {
  if (vm.count("threads")) SetNumThreads(vm["threads"].as<int>());
  EGRET_ASSIGN_OR_RETURN(auto model, Model::Load(vm["model"].as<std::string>()));
  if (vm.count("adapter")) EGRET_TRY(LoadPeftAdapter(*model, vm["adapter"].as<std::string>()));
  EGRET_ASSIGN_OR_RETURN(auto rows, ReadRows(vm["tokens"].as<std::string>()));
  EGRET_ASSIGN_OR_RETURN(Batch batch, CausalBatch(rows));
  const int64_t targets = batch.CountTargets();
  if (targets == 0) return Error("score: rows of one token have no next-token targets");
  std::vector<double> row_loss;
  std::vector<int64_t> row_targets;
  std::vector<float> probe;
  ForwardOptions opt;
  opt.row_loss_sum = &row_loss;
  opt.row_targets = &row_targets;
  const int K = vm["probe"].as<int>();
  if (K > 0) {
    opt.probe_k = K;
    opt.probe_logits = &probe;
  }
  const bool grads = vm.count("grads") > 0;
  LossSums sums;
  if (grads) {
    model->params().ZeroGrads();
    EGRET_ASSIGN_OR_RETURN(sums, model->ForwardBackward(batch, 1.0f / static_cast<float>(targets), opt));
  } else {
    EGRET_ASSIGN_OR_RETURN(sums, model->Forward(batch, opt));
  }
  json out;
  out["mean_loss"] = sums.loss_sum / static_cast<double>(sums.targets);
  out["seq_loss"] = json::array();
  for (size_t r = 0; r < row_loss.size(); ++r) out["seq_loss"].push_back(row_loss[r] / row_targets[r]);
  if (K > 0) {
    const int k = std::min(K, model->config().vocab_size);
    json l = json::array();
    for (int r = 0; r < batch.rows; ++r) {
      json row = json::array();
      for (int t = 0; t < batch.seq_len; ++t) {
        const float* p = probe.data() + (static_cast<size_t>(r) * batch.seq_len + t) * k;
        row.push_back(std::vector<double>(p, p + k));
      }
      l.push_back(row);
    }
    out["logits"] = l;
  }
  if (grads) {
    json g = json::object();
    const ParamStore& p = model->params();
    for (int i = 0; i < p.count(); ++i) {
      if (!p.info(i).trainable) continue;
      const float* d = p.grad_if_any(i);
      double s = 0;
      for (size_t j = 0; d && j < p.info(i).numel; ++j) s += static_cast<double>(d[j]) * d[j];
      g[p.info(i).name] = std::sqrt(s);
    }
    out["grad_norms"] = g;
  }
  if (vm.count("generate")) {
    const int n = vm["generate"].as<int>();
    const int plen = vm.count("prompt-len") ? vm["prompt-len"].as<int>() : static_cast<int>(rows[0].size());
    if (plen <= 0 || plen > static_cast<int>(rows[0].size()))
      return Error("score: --prompt-len must be in [1, " + std::to_string(rows[0].size()) + "]");
    std::vector<int32_t> prompt(rows[0].begin(), rows[0].begin() + plen);
    EGRET_ASSIGN_OR_RETURN(out["generated"], model->Generate(prompt, n));
  }
  return out;
}

int RunScore(const std::vector<std::string>& args) {
  po::options_description opts(
      "egret-train score --model DIR [--adapter PEFT_DIR] --tokens FILE.json [--grads] [--probe K] "
      "[--generate N --prompt-len P]");
  opts.add_options()
      ("help,h", "show this help")
      ("model", po::value<std::string>(), "model directory (config.json + safetensors)")
      ("adapter", po::value<std::string>(), "PEFT LoRA adapter directory")
      ("tokens", po::value<std::string>(), "JSON list of equal-length token-id rows")
      ("grads", "also print the L2 norm of d mean_loss / d param per trainable parameter")
      ("probe", po::value<int>()->default_value(0), "print the first K vocabulary logits at every position")
      ("generate", po::value<int>(), "greedy continuation of N tokens from row 0")
      ("prompt-len", po::value<int>(), "prompt length for --generate (default: all of row 0)")
      ("threads", po::value<int>(), "CPU threads (default: the cores this process may use)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-train score: %s\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  if (!vm.count("model") || !vm.count("tokens")) {
    std::fprintf(stderr, "egret-train score: --model and --tokens are required (see --help)\n");
    return 2;
  }
  auto out = Score(vm);
  if (!out.ok()) {
    std::fprintf(stderr, "egret-train score: %s\n", out.error().message().c_str());
    return 1;
  }
  std::cout << out->dump() << "\n";
  return 0;
}

}  // namespace

EGRET_TRAIN_COMMAND(score, "loss, logits, gradient norms and greedy tokens of a model on token rows", RunScore);

}  // namespace egret::trainer::cli
