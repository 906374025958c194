#include "mpi_trainer/tokenizer/aligned.h"

#include "mpi_trainer/tokenizer/byte_level.h"

namespace egret::tokenizer {

Aligned Aligned::Original(std::string_view input, uint32_t base, bool track) {
  Aligned a;
  a.text.assign(input);
  a.track = track;
  if (track) {
    a.lo.resize(input.size());
    a.hi.resize(input.size());
    for (size_t i = 0; i < input.size(); ++i) {
      a.lo[i] = base + static_cast<uint32_t>(i);
      a.hi[i] = base + static_cast<uint32_t>(i) + 1;
    }
  }
  return a;
}

Aligned Aligned::Slice(size_t begin, size_t end) const {
  Aligned a;
  a.text = text.substr(begin, end - begin);
  a.track = track;
  a.byte_level = byte_level;
  a.at_start = at_start && begin == 0;
  if (track) {
    a.lo.assign(lo.begin() + begin, lo.begin() + end);
    a.hi.assign(hi.begin() + begin, hi.begin() + end);
  }
  return a;
}

void Aligned::Prepend(std::string_view s) {
  text.insert(0, s);
  if (track) {
    uint32_t at = lo.empty() ? 0 : lo.front();
    lo.insert(lo.begin(), s.size(), at);
    hi.insert(hi.begin(), s.size(), at);
  }
}

void Aligned::Push(std::string_view out_text, uint32_t range_lo, uint32_t range_hi) {
  text.append(out_text);
  if (track) {
    lo.insert(lo.end(), out_text.size(), range_lo);
    hi.insert(hi.end(), out_text.size(), range_hi);
  }
}

uint32_t Aligned::Begin(size_t i) const { return track && i < lo.size() ? lo[i] : 0; }
uint32_t Aligned::End(size_t i) const { return track && i > 0 && i <= hi.size() ? hi[i - 1] : 0; }

Aligned MaterializeByteLevel(const Aligned& piece) {
  Aligned out;
  out.track = piece.track;
  out.at_start = piece.at_start;
  for (size_t i = 0; i < piece.text.size(); ++i) {
    std::string_view ch = ByteLevelChar(static_cast<unsigned char>(piece.text[i]));
    out.Push(ch, piece.track ? piece.lo[i] : 0, piece.track ? piece.hi[i] : 0);
  }
  return out;
}

}  // namespace egret::tokenizer
