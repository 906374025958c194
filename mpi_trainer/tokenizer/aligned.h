// Text moving through the tokenizer pipeline. When offsets are wanted, every byte of the
// (normalized, pre-tokenized) text remembers the byte range of the input it came from, so a
// token can be traced back to the characters of the original text (as Hugging Face's
// NormalizedString does); otherwise only the text is carried.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace egret::tokenizer {

struct Aligned {
  std::string text;
  bool track = false;
  // With track: for text[i], the input byte range [lo[i], hi[i]).
  std::vector<uint32_t> lo, hi;
  // Set by the ByteLevel pre-tokenizer: TEXT still holds raw bytes, to be read by the model
  // through the byte-level alphabet (a byte stands for one alphabet character).
  bool byte_level = false;
  // The piece begins at the start of the input (Metaspace's prepend_scheme "first").
  bool at_start = false;

  static Aligned Original(std::string_view input, uint32_t base, bool track);

  Aligned Slice(size_t begin, size_t end) const;
  // Inserted text maps to the empty range at the start of the first character.
  void Prepend(std::string_view s);
  // Appends OUT_TEXT standing for input range [lo, hi).
  void Push(std::string_view out_text, uint32_t range_lo, uint32_t range_hi);
  // Original range of text[begin, end).
  uint32_t Begin(size_t i) const;
  uint32_t End(size_t i) const;
};

// Spells a byte_level piece in the alphabet (for stages that must read it as text).
Aligned MaterializeByteLevel(const Aligned& piece);

}  // namespace egret::tokenizer
