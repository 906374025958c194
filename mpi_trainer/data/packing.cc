#include "mpi_trainer/data/packing.h"

#include <map>

namespace egret::data {

Result<Overflow> ParseOverflow(const std::string& s) {
  if (s == "split") return Overflow::kSplit;
  if (s == "truncate") return Overflow::kTruncate;
  if (s == "drop") return Overflow::kDrop;
  return Error("overflow must be one of split, truncate, drop (got \"" + s + "\")");
}

PackedRows Pack(const std::vector<Document>& docs, int64_t seq_len, int32_t pad_id, Overflow overflow) {
  PackedRows out;
  out.seq_len = seq_len;

  // 1. Cut documents into segments of at most seq_len tokens.
  struct Piece {
    int64_t document, doc_start, length;
  };
  std::vector<Piece> pieces;
  for (int64_t d = 0; d < static_cast<int64_t>(docs.size()); ++d) {
    int64_t n = static_cast<int64_t>(docs[d].ids.size());
    if (n <= seq_len) {
      pieces.push_back({d, 0, n});
      continue;
    }
    switch (overflow) {
      case Overflow::kDrop:
        ++out.documents_dropped;
        break;
      case Overflow::kTruncate:
        ++out.documents_truncated;
        pieces.push_back({d, 0, seq_len});
        break;
      case Overflow::kSplit:
        ++out.documents_split;
        // Pieces start every seq_len-1 tokens: piece k's first token is piece k-1's last.
        for (int64_t start = 0; start + 1 < n; start += seq_len - 1)
          pieces.push_back({d, start, std::min(seq_len, n - start)});
        break;
    }
  }

  // 2. Best fit: each piece goes into the open row with the least room that still fits it.
  std::multimap<int64_t, int64_t> room;  // free tokens -> row
  std::vector<int64_t> used;             // tokens used per row
  for (const Piece& p : pieces) {
    auto it = room.lower_bound(p.length);
    int64_t row;
    if (it == room.end()) {
      row = static_cast<int64_t>(used.size());
      used.push_back(0);
    } else {
      row = it->second;
      room.erase(it);
    }
    out.segments.push_back({row, used[row], p.length, p.document, p.doc_start});
    used[row] += p.length;
    if (used[row] < seq_len) room.emplace(seq_len - used[row], row);
  }

  // 3. Fill the rows.
  out.rows = static_cast<int64_t>(used.size());
  size_t total = static_cast<size_t>(out.rows * seq_len);
  out.input_ids.assign(total, pad_id);
  out.labels.assign(total, kIgnoreLabel);
  out.position_ids.assign(total, 0);
  out.document_ids.assign(total, kPadDocument);
  for (const Segment& s : out.segments) {
    const Document& doc = docs[s.document];
    for (int64_t i = 0; i < s.length; ++i) {
      size_t at = static_cast<size_t>(s.row * seq_len + s.start + i);
      size_t src = static_cast<size_t>(s.doc_start + i);
      out.input_ids[at] = doc.ids[src];
      out.position_ids[at] = static_cast<int32_t>(i);
      out.document_ids[at] = static_cast<int32_t>(s.document);
      if (i > 0 && doc.mask[src]) {
        out.labels[at] = doc.ids[src];
        ++out.target_tokens;
      }
    }
  }
  return out;
}

}  // namespace egret::data
