// A micro-batch: `rows` sequences of `seq_len` tokens. Labels are already shifted: labels[i]
// is the token that position i must predict, or -100 (kIgnore) for no loss there. Packed rows
// hold several documents: position ids restart at 0 for each, and a query attends only keys of
// its own document (doc_ids equal and contiguous).
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"

namespace egret::trainer {

constexpr int32_t kIgnore = -100;

struct Batch {
  int rows = 0;
  int seq_len = 0;
  std::vector<int32_t> tokens;     // [rows * seq_len]
  std::vector<int32_t> labels;     // [rows * seq_len], kIgnore = no loss
  std::vector<int32_t> positions;  // [rows * seq_len]
  std::vector<int32_t> doc_ids;    // [rows * seq_len]

  int64_t CountTargets() const;  // labels != kIgnore
  // Shapes, token/label ids < vocab, positions < max_positions (0 = unbounded).
  Status Validate(int vocab, int max_positions) const;
};

// Equal-length rows of one document each: labels[t] = tokens[t + 1], the last is ignored.
Result<Batch> CausalBatch(const std::vector<std::vector<int32_t>>& rows);

// One row of seq_len packing the documents in order (each a token list, predicted in full
// after its first token); the tail is padded with pad_token (ignored, its own document).
Result<Batch> PackedRow(const std::vector<std::vector<int32_t>>& documents, int seq_len,
                        int32_t pad_token = 0);

}  // namespace egret::trainer
