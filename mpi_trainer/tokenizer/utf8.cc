#include "mpi_trainer/tokenizer/utf8.h"

#include <unicode/uchar.h>

namespace egret::tokenizer {

size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t min;
    if ((c >> 5) == 0x6) {
      len = 2, min = 0x80;
    } else if ((c >> 4) == 0xE) {
      len = 3, min = 0x800;
    } else if ((c >> 3) == 0x1E) {
      len = 4, min = 0x10000;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    size_t j = i;
    uint32_t cp = DecodeUtf8(s, j);
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t bad = FindInvalidUtf8(bytes.substr(i));
    if (bad == std::string_view::npos) {
      out.append(bytes.substr(i));
      break;
    }
    out.append(bytes.substr(i, bad));
    i += bad;
    // Like from_utf8_lossy: a maximal prefix of a valid sequence is replaced by one U+FFFD.
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    size_t len = Utf8Len(c);
    size_t skip = 1;
    if (len > 1) {
      uint32_t lo = 0x80, hi = 0xBF;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
      if (c >= 0xC2 && c <= 0xF4) {
        for (size_t k = 1; k < len && i + k < bytes.size(); ++k) {
          unsigned char d = static_cast<unsigned char>(bytes[i + k]);
          if (k == 1 ? (d < lo || d > hi) : (d & 0xC0) != 0x80) break;
          skip = k + 1;
        }
      }
    }
    out.append("\xEF\xBF\xBD");
    i += skip;
  }
  return out;
}

bool IsWhiteSpace(uint32_t cp) { return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE); }

bool IsWordChar(uint32_t cp) {
  UChar32 c = static_cast<UChar32>(cp);
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL))
    return true;
  int8_t t = u_charType(c);
  return t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK || t == U_COMBINING_SPACING_MARK ||
         t == U_DECIMAL_DIGIT_NUMBER || t == U_CONNECTOR_PUNCTUATION;
}

}  // namespace egret::tokenizer
