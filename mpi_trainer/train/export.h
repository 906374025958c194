// A run's result in the formats people load: LoRA -> a PEFT adapter directory
// (adapter_config.json + adapter_model.safetensors), full -> a Hugging Face model directory
// (config.json + model.safetensors + the base model's tokenizer files).
#pragma once

#include <string>

#include "common/result.h"
#include "mpi_trainer/model/model.h"
#include "mpi_trainer/train/job_config.h"

namespace egret::train {

// Writes <output.dir>/adapter (lora) or <output.dir>/model (full); returns the directory.
Result<std::string> ExportResult(const trainer::Model& model, const JobConfig& c);

// The exports, each into OUT_DIR (replaced whole: written beside it, then renamed into place).
Status ExportPeft(const trainer::Model& model, const std::string& base_model_dir, const std::string& out_dir);
Status ExportMerged(const trainer::Model& model, const std::string& base_model_dir, const std::string& out_dir);

// Copies the tokenizer files FROM has (tokenizer.json, GPT-2 vocab files, configs, chat
// template) into the model directory TO.
Status CopyTokenizerFiles(const std::string& from, const std::string& to);

}  // namespace egret::train
