// Pre-tokenizer regexes. tokenizer.json patterns are written for Oniguruma (what the Rust
// tokenizers library runs); they are compiled with PCRE2 (UTF, JIT) after rewriting the few
// escapes whose meaning differs: \s \S (Unicode White_Space, not PCRE2's \s), \w \W
// (Alphabetic, marks, decimal digits, connector punctuation), \h \H (hex digits in
// Oniguruma, horizontal space in PCRE2).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace egret::tokenizer {

class Regex {
 public:
  // ONIG_PATTERN is the pattern as written in tokenizer.json. Errors name the position.
  static Result<Regex> Compile(std::string_view onig_pattern);
  // A pattern matching STR literally.
  static Result<Regex> Literal(std::string_view str);

  // Appends the [begin, end) byte ranges of successive non-overlapping matches in TEXT (valid
  // UTF-8), with Rust's find_iter rule: an empty match right after the previous match is
  // skipped.
  Status FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string pattern_;
};

// Exposed for tests: the PCRE2 spelling of an Oniguruma pattern.
Result<std::string> OnigToPcre2(std::string_view pattern);

}  // namespace egret::tokenizer
