// UTF-8 helpers shared by the tokenizer stages. Input text is validated once, on entry, so
// the stages below can decode without re-checking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace egret::tokenizer {

// The code-point helpers are common/utf8.h's.
using egret::AppendUtf8;
using egret::DecodeUtf8;
using egret::Utf8Len;

// Byte offset of the first invalid sequence, or npos when S is valid UTF-8.
size_t FindInvalidUtf8(std::string_view s);

// Replaces invalid sequences with U+FFFD, as Rust's String::from_utf8_lossy does.
std::string Utf8Lossy(std::string_view bytes);

// Unicode character properties, with the meaning the Rust regex crate gives \s and \w
// (used for added-token lstrip/rstrip/single_word).
bool IsWhiteSpace(uint32_t cp);
bool IsWordChar(uint32_t cp);

}  // namespace egret::tokenizer
