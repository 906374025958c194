// [training] and [training.lora] of a jobspec: each key checked against egret-train's (see
// trainer/training_keys.h), lists of values read as sweeps, settings kept in file order.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "jobspecs/spec/diagnostics.h"
#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec {

// Every table's keys (table name -> keys), for "it belongs in [...]" hints.
using KeyTables = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Fills SPEC.training from T (may be null). SPEC.kind must be set (sweeps are finetune only).
void ReadTraining(const toml::table* t, Jobspec& spec, Diagnostics& diag, const KeyTables* elsewhere);

// egret-train splits each step's rows over ranks and micro-batches: global_batch_size must be
// a multiple of micro_batch_size x ranks, for every value a sweep gives them.
void CheckBatchGeometry(const toml::table& root, const Jobspec& spec, Diagnostics& diag);

}  // namespace egret::jobspec
