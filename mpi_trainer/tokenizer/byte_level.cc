#include "mpi_trainer/tokenizer/byte_level.h"

#include <array>

#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {
namespace {

struct Tables {
  std::array<std::string, 256> spelled;
  std::array<int16_t, 512> byte_of;  // code points used are all below 512
  Tables() {
    byte_of.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
      AppendUtf8(cp, spelled[b]);
      byte_of[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& T() {
  static const Tables t;
  return t;
}

}  // namespace

std::string_view ByteLevelChar(unsigned char b) { return T().spelled[b]; }

int ByteLevelByte(uint32_t cp) { return cp < 512 ? T().byte_of[cp] : -1; }

std::string ToByteLevel(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += T().spelled[b];
  return out;
}

std::optional<std::string> FromByteLevel(std::string_view spelled) {
  std::string out;
  out.reserve(spelled.size());
  size_t i = 0;
  while (i < spelled.size()) {
    int b = ByteLevelByte(DecodeUtf8(spelled, i));
    if (b < 0) return std::nullopt;
    out += static_cast<char>(b);
  }
  return out;
}

}  // namespace egret::tokenizer
