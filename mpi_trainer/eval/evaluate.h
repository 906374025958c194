// Evaluation: mean loss and perplexity over an HDF5 eval set, and greedy generation scored by
// exact match on a {"prompt", "answer"} JSONL. Both shard their work over the ranks and sum the
// counts, so every rank returns the same result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "mpi_trainer/data/dataset_file.h"
#include "mpi_trainer/dist/comm.h"
#include "mpi_trainer/model/model.h"
#include "mpi_trainer/tokenizer/tokenizer.h"

namespace egret::eval {

struct LossResult {
  double loss = 0;        // mean next-token NLL over every target token
  double perplexity = 0;  // exp(loss)
  int64_t tokens = 0;     // target tokens
  int64_t rows = 0;
};

Result<LossResult> EvalLoss(trainer::Model& model, const data::DatasetReader& ds, trainer::Communicator& comm,
                            int micro_batch_size);

struct ExactMatchOptions {
  int max_new_tokens = 64;
  bool chat = false;  // prompt as a user turn, rendered with the chat template
  int samples = 5;    // examples kept for the report
};

struct ExactMatchResult {
  int64_t total = 0, correct = 0;
  double accuracy = 0;
  nlohmann::json samples = nlohmann::json::array();  // rank 0's first few
};

// A line is {"prompt": "...", "answer": "..."}; the greedy continuation (stopped at EOS or
// max_new_tokens, special tokens removed) matches when it equals the answer after trimming
// surrounding whitespace. Malformed lines are errors naming file:line.
Result<ExactMatchResult> EvalExactMatch(trainer::Model& model, const tokenizer::Tokenizer& tok, const std::string& jsonl,
                                        const ExactMatchOptions& options, trainer::Communicator& comm);

}  // namespace egret::eval
