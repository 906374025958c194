// egret-train export: a job's trained weights (from a checkpoint) in the formats people load.
//   egret-train export --config job.toml [--checkpoint FILE|auto] [--peft DIR] [--merged DIR]
// --peft writes adapter_config.json + adapter_model.safetensors (LoRA runs); --merged writes
// config.json + model.safetensors (+ the tokenizer files) with adapters folded in.
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "mpi_trainer/cli/command.h"
#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/train/export.h"
#include "mpi_trainer/train/job_model.h"

namespace po = boost::program_options;
using namespace egret;

namespace {

int RunExport(const std::vector<std::string>& args) {
  std::string config, checkpoint = "auto", peft, merged;
  std::vector<std::string> sets;
  po::options_description opts("egret-train export options");
  opts.add_options()("help,h", "show this help")
      ("config", po::value(&config), "the job.toml the checkpoint belongs to (required)")
      ("set", po::value(&sets)->composing(), "the job's --set overrides, as given to finetune (repeatable)")
      ("checkpoint", po::value(&checkpoint)->default_value("auto"), "a checkpoint file, or auto (newest complete)")
      ("peft", po::value(&peft), "write the LoRA adapter in PEFT format here")
      ("merged", po::value(&merged), "write merged full weights (HF safetensors + config.json) here");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-train export: %s (see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: egret-train export --config job.toml [--set key=value ...] [--checkpoint FILE|auto] [--peft DIR] [--merged DIR]\n\n"
              << opts;
    return 0;
  }
  if (config.empty() || (peft.empty() && merged.empty())) {
    std::fprintf(stderr, "egret-train export: needs --config and at least one of --peft, --merged\n");
    return 2;
  }
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "egret-train export: %s\n", e.message().c_str());
    return 1;
  };
  trainer::SetNumThreads(0);
  auto c = train::LoadJobConfig(config, sets);
  if (!c.ok()) return fail(c.error());
  auto model = train::BuildJobModel(*c);
  if (!model.ok()) return fail(model.error());
  auto ck = train::LoadCheckpointWeights(*c, **model, checkpoint);
  if (!ck.ok()) return fail(ck.error());
  if (!peft.empty()) {
    if (auto st = train::ExportPeft(**model, c->model_path, peft); !st.ok()) return fail(st.error());
    std::printf("wrote PEFT adapter %s (from %s)\n", peft.c_str(), ck->c_str());
  }
  if (!merged.empty()) {
    if (auto st = train::ExportMerged(**model, c->model_path, merged); !st.ok()) return fail(st.error());
    std::printf("wrote merged model %s (from %s)\n", merged.c_str(), ck->c_str());
  }
  return 0;
}

}  // namespace

EGRET_TRAIN_COMMAND(export, "write a checkpoint's weights as a PEFT adapter and/or merged HF weights", RunExport);
