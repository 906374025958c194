// egret-train finetune: the training loop over MPI ranks. One optimizer step:
//   1. each rank reads its slice of the global batch (data_order.h) and counts its target
//      tokens; one all-reduce gives the global count N (and whether any rank must stop);
//   2. each micro-batch runs forward+backward with gradient scale 1/N, so the summed
//      gradients are those of the mean loss over the whole global batch;
//   3. gradients are all-reduced, clipped to max_grad_norm by their global norm, and AdamW
//      applies the scheduled learning rate.
// Checkpoints, evaluation, metrics and preemption happen at step boundaries.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "mpi_trainer/dist/comm.h"
#include "mpi_trainer/train/job_config.h"

namespace egret::train {

struct FinetuneOptions {
  // "" (refuse if the checkpoint dir already holds checkpoints), "auto" (the newest complete
  // one, or a fresh start when there is none), or a checkpoint file.
  std::string resume;
  int threads = 0;  // per rank; 0: this node's cores / ranks on this node
  bool progress = true;
  // Diagnostics: writes the all-reduced gradient of the first step this run takes (before
  // clipping) to this HDF5 file, one dataset per trainable parameter under /grads.
  std::string dump_gradients;
  // Called on rank 0 after each step's metrics are written (tests).
  std::function<void(int64_t step)> after_step;
};

struct FinetuneOutcome {
  bool preempted = false;
  int64_t step = 0;          // steps done
  std::string checkpoint;    // the last checkpoint written
  std::string export_dir;    // adapter/ or model/ (finished runs)
};

// The error other ranks return for a failure rank 0 reports (the command line prints it once).
constexpr const char* kReportedByRankZero = "(reported by rank 0)";

// Runs (or resumes) the job. Errors are the same on every rank where they are collective;
// a rank-local failure (a file this rank cannot read) is reported by that rank.
Result<FinetuneOutcome> RunFinetune(const JobConfig& config, const FinetuneOptions& options,
                                    trainer::Communicator& comm);

}  // namespace egret::train
