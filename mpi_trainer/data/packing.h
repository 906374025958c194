// Packs tokenized documents into fixed-length rows. Each row holds whole segments (a
// document, or a piece of a long one) side by side; position ids restart at 0 for every
// segment and each token carries its segment's document id, so the model attends only within
// a segment. Labels follow the Hugging Face convention: labels[t] is the token the model must
// predict at t (from positions < t), -100 where nothing is trained, and the first token of
// every segment is -100 because nothing before it in the row may be seen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace egret::data {

constexpr int32_t kIgnoreLabel = -100;
constexpr int32_t kPadDocument = -1;

// A tokenized document: mask[i] = 1 when token i is a training target.
struct Document {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  int64_t source_line = 0;  // 1-based line of the JSONL it came from
};

// What happens to a document longer than a row.
enum class Overflow {
  kSplit,     // cut into row-sized pieces that overlap by one token, so every target is
              // predicted exactly once (each piece's first token is context only)
  kTruncate,  // keep the first seq_len tokens
  kDrop,      // leave the document out
};
Result<Overflow> ParseOverflow(const std::string& s);

struct Segment {
  int64_t row = 0, start = 0, length = 0;  // where it sits
  int64_t document = 0, doc_start = 0;     // which tokens of which document
};

struct PackedRows {
  int64_t seq_len = 0;
  int64_t rows = 0;
  // rows x seq_len each, row-major.
  std::vector<int32_t> input_ids, labels, position_ids, document_ids;
  std::vector<Segment> segments;
  int64_t documents_split = 0, documents_truncated = 0, documents_dropped = 0;
  int64_t target_tokens = 0;  // labels != -100
};

// Best-fit packing, deterministic for a given input. Padding uses pad_id, label -100 and
// document id -1.
PackedRows Pack(const std::vector<Document>& docs, int64_t seq_len, int32_t pad_id, Overflow overflow);

}  // namespace egret::data
