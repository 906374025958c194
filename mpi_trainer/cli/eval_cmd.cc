// egret-train eval: mean loss / perplexity on an HDF5 eval set and greedy exact match on a
// {"prompt", "answer"} JSONL, as one JSON object (stdout, and --output). The model is a
// Hugging Face directory (optionally with a PEFT adapter), or a job's model with the weights
// of one of its checkpoints. Runs alone or under mpirun/srun (work is sharded over ranks).
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "mpi_trainer/cli/command.h"
#include "mpi_trainer/cli/launch.h"
#include "mpi_trainer/eval/evaluate.h"
#include "mpi_trainer/model/lora.h"
#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/train/job_model.h"

namespace po = boost::program_options;
using namespace egret;

namespace {

struct EvalArgs {
  std::string model, adapter, config, checkpoint = "auto", dataset, exact_match, output;
  std::vector<std::string> sets;
  int max_new_tokens = 64, micro_batch_size = 4, threads = 0;
  bool chat = false;
};

Result<nlohmann::json> Evaluate(const EvalArgs& a, trainer::Communicator& comm) {
  trainer::SetNumThreads(a.threads > 0 ? a.threads : std::max(1, trainer::CoreCount() / std::max(1, comm.LocalSize())));
  std::unique_ptr<trainer::Model> model;
  std::string model_dir = a.model;
  nlohmann::json out = nlohmann::json::object();
  if (!a.config.empty()) {
    EGRET_ASSIGN_OR_RETURN(auto c, train::LoadJobConfig(a.config, a.sets));
    EGRET_ASSIGN_OR_RETURN(model, train::BuildJobModel(c));
    EGRET_ASSIGN_OR_RETURN(std::string ck, train::LoadCheckpointWeights(c, *model, a.checkpoint));
    model_dir = c.model_path;
    out["checkpoint"] = ck;
  } else {
    EGRET_ASSIGN_OR_RETURN(model, trainer::Model::Load(a.model));
    if (!a.adapter.empty()) {
      EGRET_TRY(trainer::LoadPeftAdapter(*model, a.adapter));
      out["adapter"] = a.adapter;
    }
  }
  out["model"] = model_dir;
  if (!a.dataset.empty()) {
    EGRET_ASSIGN_OR_RETURN(auto ds, data::DatasetReader::Open(a.dataset));
    EGRET_TRY(train::CheckDatasetForModel(*ds, *model, model_dir));
    EGRET_ASSIGN_OR_RETURN(auto r, eval::EvalLoss(*model, *ds, comm, a.micro_batch_size));
    out["dataset"] = a.dataset;
    out["eval_loss"] = r.loss;
    out["perplexity"] = r.perplexity;
    out["eval_tokens"] = r.tokens;
    out["eval_rows"] = r.rows;
  }
  if (!a.exact_match.empty()) {
    EGRET_ASSIGN_OR_RETURN(auto tok, tokenizer::Tokenizer::Load(model_dir));
    eval::ExactMatchOptions eo;
    eo.max_new_tokens = a.max_new_tokens;
    eo.chat = a.chat;
    EGRET_ASSIGN_OR_RETURN(auto r, eval::EvalExactMatch(*model, tok, a.exact_match, eo, comm));
    out["exact_match_file"] = a.exact_match;
    out["exact_match"] = r.accuracy;
    out["exact_match_correct"] = r.correct;
    out["exact_match_total"] = r.total;
    out["samples"] = r.samples;
  }
  return out;
}

int RunEval(const std::vector<std::string>& args) {
  EvalArgs a;
  po::options_description opts("egret-train eval options");
  opts.add_options()("help,h", "show this help")
      ("model", po::value(&a.model), "Hugging Face model directory")
      ("adapter", po::value(&a.adapter), "with --model: a PEFT adapter directory")
      ("config", po::value(&a.config), "instead of --model: a job.toml, evaluated with a checkpoint's weights")
      ("set", po::value(&a.sets)->composing(), "with --config: the job's --set overrides (repeatable)")
      ("checkpoint", po::value(&a.checkpoint)->default_value("auto"), "with --config: a checkpoint file, or auto (newest)")
      ("dataset", po::value(&a.dataset), "HDF5 eval set (egret-data import): mean loss and perplexity")
      ("exact-match", po::value(&a.exact_match), "JSONL of {\"prompt\", \"answer\"}: greedy generation, exact match")
      ("max-new-tokens", po::value(&a.max_new_tokens)->default_value(64), "generation length limit")
      ("chat", po::bool_switch(&a.chat), "render each prompt as a user turn with the chat template")
      ("micro-batch-size", po::value(&a.micro_batch_size)->default_value(4), "rows per forward pass")
      ("output", po::value(&a.output), "also write the JSON result to this file")
      ("threads", po::value(&a.threads)->default_value(0), "compute threads per rank (0: cores / local ranks)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-train eval: %s (see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: egret-train eval (--model DIR [--adapter DIR] | --config job.toml [--checkpoint FILE|auto])\n"
                 "                        [--dataset eval.h5] [--exact-match qa.jsonl] [--output result.json]\n\n"
              << opts;
    return 0;
  }
  if (a.model.empty() == a.config.empty()) {
    std::fprintf(stderr, "egret-train eval: give --model DIR or --config job.toml (one of them)\n");
    return 2;
  }
  if (a.dataset.empty() && a.exact_match.empty()) {
    std::fprintf(stderr, "egret-train eval: nothing to evaluate: give --dataset and/or --exact-match\n");
    return 2;
  }
  if (a.micro_batch_size < 1 || a.max_new_tokens < 1) {
    std::fprintf(stderr, "egret-train eval: --micro-batch-size and --max-new-tokens must be >= 1\n");
    return 2;
  }
  auto comm = trainer::cli::MakeJobCommunicator();
  auto r = Evaluate(a, *comm);
  // Failures before the first collective may hit some ranks only; all agree before exiting.
  bool failed = comm->AnyTrue(!r.ok());
  if (!r.ok()) {
    trainer::cli::ReportError("eval", *comm, r.error().message());
    return 1;
  }
  if (failed) return 1;
  if (comm->rank() == 0) {
    std::cout << r->dump(2) << "\n";
    if (!a.output.empty()) {
      auto st = WriteFileAtomic(a.output, r->dump(2) + "\n");
      if (!st.ok()) {
        std::fprintf(stderr, "egret-train eval: %s\n", st.error().message().c_str());
        return 1;
      }
    }
  }
  return 0;
}

}  // namespace

EGRET_TRAIN_COMMAND(eval, "loss/perplexity on an HDF5 eval set, exact match of greedy generations", RunEval);
