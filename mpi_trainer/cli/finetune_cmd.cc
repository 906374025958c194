// egret-train finetune: runs a fine-tuning job (train/README.md), alone or under mpirun/srun.
//   egret-train finetune --config job.toml [--set key=value ...] [--resume auto|FILE]
// Exit codes: 0 finished, 1 error, 2 bad command line, 75 preempted (checkpointed; requeue
// and run again with --resume auto).
#include <boost/program_options.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "mpi_trainer/cli/command.h"
#include "mpi_trainer/cli/launch.h"
#include "mpi_trainer/train/job_config.h"
#include "mpi_trainer/train/preempt.h"
#include "mpi_trainer/train/trainer.h"

namespace po = boost::program_options;
using namespace egret::train;

namespace {

int RunFinetuneCmd(const std::vector<std::string>& args) {
  std::string config_path, resume, output, mode, model, dump_gradients;
  std::vector<std::string> sets, data;
  int64_t steps = 0, seed = -1;
  int threads = 0;
  bool quiet = false;
  po::options_description opts("egret-train finetune options");
  opts.add_options()("help,h", "show this help")
      ("config", po::value(&config_path), "the job file (job.toml; see mpi_trainer/train/README.md)")
      ("set", po::value(&sets)->composing(), "override a job key: --set lora.r=16 (repeatable)")
      ("resume", po::value(&resume),
       "auto: continue from the newest complete checkpoint (or start fresh if there is none); "
       "or a checkpoint file. Without it, a run refuses to start over existing checkpoints")
      ("model", po::value(&model), "= --set model.path=DIR")
      ("data", po::value(&data)->composing(), "= --set data.train=FILE (repeatable)")
      ("output", po::value(&output), "= --set output.dir=DIR")
      ("mode", po::value(&mode), "= --set train.mode=lora|full")
      ("steps", po::value(&steps), "= --set train.steps=N")
      ("seed", po::value(&seed), "= --set train.seed=N")
      ("threads", po::value(&threads), "compute threads per rank (default: the node's cores / ranks on the node)")
      ("quiet", po::bool_switch(&quiet), "no progress lines")
      ("dump-gradients", po::value(&dump_gradients),
       "diagnostics: write the first step's all-reduced gradient (before clipping) to this HDF5 file");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-train finetune: %s (see --help)\n", e.what());
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << "usage: egret-train finetune --config job.toml [--set key=value ...] [--resume auto|FILE]\n\n"
              << "exit codes: 0 finished, 1 error, 2 bad command line, " << kExitPreempted
              << " preempted (checkpoint written; resume with --resume auto)\n\n"
              << opts;
    return kExitOk;
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "egret-train finetune: --config job.toml is required (see --help)\n");
    return kExitUsage;
  }
  // Explicit flags are shorthands, applied after --set.
  if (!model.empty()) sets.push_back("model.path=" + model);
  if (!data.empty()) {
    std::string list = "[";
    for (size_t i = 0; i < data.size(); ++i) list += (i ? ", \"" : "\"") + data[i] + "\"";
    sets.push_back("data.train=" + list + "]");
  }
  if (!output.empty()) sets.push_back("output.dir=" + output);
  if (!mode.empty()) sets.push_back("train.mode=" + mode);
  if (steps > 0) sets.push_back("train.steps=" + std::to_string(steps));
  if (seed >= 0) sets.push_back("train.seed=" + std::to_string(seed));

  auto config = LoadJobConfig(config_path, sets);
  if (!config.ok()) {
    std::fprintf(stderr, "egret-train finetune: %s\n", config.error().message().c_str());
    return kExitError;
  }
  auto comm = egret::trainer::cli::MakeJobCommunicator();
  FinetuneOptions fo;
  fo.resume = resume;
  fo.threads = threads;
  fo.progress = !quiet;
  fo.dump_gradients = dump_gradients;
  auto out = RunFinetune(*config, fo, *comm);
  if (!out.ok()) {
    egret::trainer::cli::ReportError("finetune", *comm, out.error().message());
    return kExitError;
  }
  return out->preempted ? kExitPreempted : kExitOk;
}

}  // namespace

EGRET_TRAIN_COMMAND(finetune, "fine-tune a model (LoRA or full) from a job.toml, over MPI ranks", RunFinetuneCmd);
