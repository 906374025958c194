#include "mpi_trainer/model/batch.h"

#include <string>

namespace egret::trainer {

int64_t Batch::CountTargets() const {
  int64_t n = 0;
  for (int32_t l : labels) n += l != kIgnore;
  return n;
}

Status Batch::Validate(int vocab, int max_positions) const {
  const size_t n = static_cast<size_t>(rows) * seq_len;
  if (rows <= 0 || seq_len <= 0) return Error("batch: rows and seq_len must be > 0");
  if (tokens.size() != n || labels.size() != n || positions.size() != n || doc_ids.size() != n)
    return Error("batch: tokens, labels, positions and doc_ids must each hold rows * seq_len = " +
                 std::to_string(n) + " values");
  for (size_t i = 0; i < n; ++i) {
    const std::string at = " at row " + std::to_string(i / seq_len) + ", position " +
                           std::to_string(i % seq_len);
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return Error("batch: token id " + std::to_string(tokens[i]) + at + " is outside the vocabulary [0, " +
                   std::to_string(vocab) + ")");
    if (labels[i] != kIgnore && (labels[i] < 0 || labels[i] >= vocab))
      return Error("batch: label " + std::to_string(labels[i]) + at + " is outside the vocabulary [0, " +
                   std::to_string(vocab) + ") and is not -100");
    if (positions[i] < 0 || (max_positions > 0 && positions[i] >= max_positions))
      return Error("batch: position id " + std::to_string(positions[i]) + at +
                   " is outside [0, " + std::to_string(max_positions) + ")");
  }
  return Ok();
}

Result<Batch> CausalBatch(const std::vector<std::vector<int32_t>>& rows) {
  if (rows.empty() || rows[0].empty()) return Error("batch: no tokens");
  Batch b;
  b.rows = static_cast<int>(rows.size());
  b.seq_len = static_cast<int>(rows[0].size());
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != rows[0].size())
      return Error("batch: row " + std::to_string(r) + " has " + std::to_string(rows[r].size()) +
                   " tokens, row 0 has " + std::to_string(rows[0].size()) + " (rows must be equal length)");
    for (int t = 0; t < b.seq_len; ++t) {
      b.tokens.push_back(rows[r][t]);
      b.labels.push_back(t + 1 < b.seq_len ? rows[r][t + 1] : kIgnore);
      b.positions.push_back(t);
      b.doc_ids.push_back(0);
    }
  }
  return b;
}

Result<Batch> PackedRow(const std::vector<std::vector<int32_t>>& documents, int seq_len,
                        int32_t pad_token) {
  Batch b;
  b.rows = 1;
  b.seq_len = seq_len;
  int doc = 0;
  for (const auto& d : documents) {
    for (size_t t = 0; t < d.size(); ++t) {
      b.tokens.push_back(d[t]);
      b.labels.push_back(t + 1 < d.size() ? d[t + 1] : kIgnore);
      b.positions.push_back(static_cast<int32_t>(t));
      b.doc_ids.push_back(doc);
    }
    ++doc;
  }
  if (b.tokens.size() > static_cast<size_t>(seq_len))
    return Error("batch: documents hold " + std::to_string(b.tokens.size()) +
                 " tokens, more than seq_len " + std::to_string(seq_len));
  for (int32_t t = 0; b.tokens.size() < static_cast<size_t>(seq_len); ++t) {
    b.tokens.push_back(pad_token);
    b.labels.push_back(kIgnore);
    b.positions.push_back(t);
    b.doc_ids.push_back(doc);
  }
  return b;
}

}  // namespace egret::trainer
