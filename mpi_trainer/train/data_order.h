// Which dataset row feeds which slot of which global batch. The rows of all datasets form one
// index space; each epoch visits them in a fresh permutation drawn from (seed, epoch), and the
// global batches are consecutive slices of that endless stream. The whole order is a pure
// function of the seed, so the data cursor (rows consumed) is all a checkpoint needs, and the
// order does not depend on how many ranks share a batch.
#pragma once

#include <cstdint>
#include <vector>

namespace egret::train {

// Counter-based random numbers (splitmix64 over a key): no state beyond the key and counter.
uint64_t Mix64(uint64_t x);
uint64_t HashKey(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0);

class DataOrder {
 public:
  DataOrder(int64_t rows, uint64_t seed) : rows_(rows), seed_(seed) {}
  int64_t rows() const { return rows_; }
  // The row at position POS of the stream (epoch = pos / rows).
  int64_t RowAt(int64_t pos);
  // The permutation of epoch E (exposed for tests).
  std::vector<int64_t> Permutation(int64_t epoch) const;

 private:
  int64_t rows_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> perm_;
};

// The stream positions rank RANK works on in global batch STEP (0-based), micro-batch by
// micro-batch: slot (rank * grad_accum + m) * micro + i of the batch. With 1 rank and
// grad_accum = k, micro-batch m holds exactly what rank m holds with k ranks and grad_accum 1.
int64_t StreamPosition(int64_t step, int64_t global_batch, int rank, int64_t grad_accum, int64_t micro,
                       int64_t micro_index, int64_t row_in_micro);

}  // namespace egret::train
