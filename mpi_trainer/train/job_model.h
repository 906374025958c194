// The model, data and identity of a job, built the same way by finetune, eval and export.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "mpi_trainer/checkpoint/checkpoint.h"
#include "mpi_trainer/data/dataset_file.h"
#include "mpi_trainer/model/batch.h"
#include "mpi_trainer/model/model.h"
#include "mpi_trainer/optim/adamw.h"
#include "mpi_trainer/train/job_config.h"

namespace egret::train {

// The model's LoRA settings for the job's [lora] section (seeded by train.seed).
trainer::LoraConfig ModelLoraConfig(const JobConfig& c);

// Loads model.path and makes the job's parameters trainable: in lora mode adds adapters
// (or loads model.adapter, whose adapter_config.json then decides r, alpha, targets and
// dropout), in full mode every parameter.
Result<std::unique_ptr<trainer::Model>> BuildJobModel(const JobConfig& c);

// The job's training datasets: all must share seq_len and tokenizer, which must be the model
// directory's tokenizer when it has one, and seq_len must fit the model.
struct JobData {
  std::vector<std::unique_ptr<data::DatasetReader>> sets;
  std::vector<int64_t> first_row;  // global index of each set's row 0
  int64_t rows = 0, seq_len = 0;
  std::vector<std::string> fingerprints;  // per set: source, tokenizer, seq_len, rows
  // Reads global row R.
  Status ReadRow(int64_t r, data::Row* out) const;
};
Result<JobData> OpenJobData(const std::vector<std::string>& paths, const trainer::Model& model,
                            const std::string& model_dir);
// Checks one dataset (e.g. the eval set) against the model the same way.
Status CheckDatasetForModel(const data::DatasetReader& ds, const trainer::Model& model, const std::string& model_dir);

// Packs dataset rows into a model batch. Dataset labels are unshifted (HF convention:
// labels[t] is token t's own id when trained); the model wants labels[t] = the token
// position t predicts, so they move one place left. Each segment gets its own document id.
trainer::Batch MakeBatch(const std::vector<data::Row>& rows);

// The trainable tensors, their AdamW moments, in a stable order, for checkpoints.
ckpt::TensorGroups TrainableTensors(trainer::Model& model, trainer::AdamW& opt);

// The base model's fingerprint, combined with model.adapter's files when there is one.
Result<std::string> JobModelFingerprint(const JobConfig& c);

// Loads the trained weights of checkpoint PATH ("auto": the newest in checkpoint.dir) into
// MODEL, built by BuildJobModel (evaluation, export): model and mode must match the
// checkpoint's. Returns the checkpoint's path.
Result<std::string> LoadCheckpointWeights(const JobConfig& c, trainer::Model& model, const std::string& path);

}  // namespace egret::train
