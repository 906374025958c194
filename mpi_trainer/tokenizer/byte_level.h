// GPT-2's reversible byte <-> printable-character map: byte-level BPE vocabularies spell
// every byte as one visible character (space is "Ġ", newline "Ċ").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace egret::tokenizer {

// The character standing for byte B, as UTF-8.
std::string_view ByteLevelChar(unsigned char b);
// The byte that code point CP stands for, or -1 when CP is not in the alphabet.
int ByteLevelByte(uint32_t cp);
// Spells BYTES in the byte-level alphabet.
std::string ToByteLevel(std::string_view bytes);
// The bytes a byte-level spelling stands for; nullopt when a character is not in the alphabet.
std::optional<std::string> FromByteLevel(std::string_view spelled);

}  // namespace egret::tokenizer
