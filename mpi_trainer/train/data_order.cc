#include "mpi_trainer/train/data_order.h"

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>

namespace egret::train {

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashKey(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  return Mix64(Mix64(Mix64(Mix64(a) ^ b) ^ c) ^ d);
}

std::vector<int64_t> DataOrder::Permutation(int64_t epoch) const {
  std::vector<int64_t> p(static_cast<std::size_t>(rows_));
  std::iota(p.begin(), p.end(), 0);
  // Fisher-Yates with an unbiased bounded draw (rejection), from a counter-based stream, so
  // the permutation is the same on every platform and standard library.
  uint64_t key = HashKey(seed_, static_cast<uint64_t>(epoch), 0x5eedda7aULL);
  uint64_t counter = 0;
  for (int64_t i = rows_ - 1; i > 0; --i) {
    uint64_t bound = static_cast<uint64_t>(i) + 1;
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = Mix64(key + counter++); while (r >= limit);
    std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(r % bound)]);
  }
  return p;
}

int64_t DataOrder::RowAt(int64_t pos) {
  int64_t epoch = pos / rows_;
  if (epoch != cached_epoch_) {
    perm_ = Permutation(epoch);
    cached_epoch_ = epoch;
  }
  return perm_[static_cast<std::size_t>(pos % rows_)];
}

int64_t StreamPosition(int64_t step, int64_t global_batch, int rank, int64_t grad_accum, int64_t micro,
                       int64_t micro_index, int64_t row_in_micro) {
  return step * global_batch + (rank * grad_accum + micro_index) * micro + row_in_micro;
}

}  // namespace egret::train
