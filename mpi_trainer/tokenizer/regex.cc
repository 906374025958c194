#include "mpi_trainer/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstring>

#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {
namespace {

constexpr const char* kWordClass = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";
constexpr const char* kHexClass = "0-9A-Fa-f";

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

// Per-thread match state: match data and a JIT stack large enough for long whitespace runs.
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  MatchState() { pcre2_jit_stack_assign(ctx, nullptr, stack); }
  ~MatchState() {
    pcre2_match_context_free(ctx);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};

MatchState& State() {
  thread_local MatchState state;
  return state;
}

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

Result<std::string> OnigToPcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  int class_depth = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      bool in_class = class_depth > 0;
      switch (e) {
        case 's': out += "\\p{White_Space}"; break;
        case 'S': out += "\\P{White_Space}"; break;
        case 'w':
          out += in_class ? std::string(kWordClass) : "[" + std::string(kWordClass) + "]";
          break;
        case 'h':
          out += in_class ? std::string(kHexClass) : "[" + std::string(kHexClass) + "]";
          break;
        case 'W':
        case 'H':
          if (in_class)
            return Error("\\" + std::string(1, e) + " inside a character class (at byte " +
                         std::to_string(i) + ") is not supported");
          out += "[^" + std::string(e == 'W' ? kWordClass : kHexClass) + "]";
          break;
        default:
          out += c;
          out += e;
          // Keep \p{...}, \x{...} and similar bodies intact.
          if ((e == 'p' || e == 'P' || e == 'x') && i + 2 < p.size() && p[i + 2] == '{') {
            size_t close = p.find('}', i + 2);
            if (close == std::string_view::npos)
              return Error("unterminated \\" + std::string(1, e) + "{ at byte " + std::to_string(i));
            out.append(p.substr(i + 2, close - (i + 2) + 1));
            i = close;
            continue;
          }
      }
      ++i;
      continue;
    }
    if (c == '[') {
      // POSIX bracket [:alpha:] inside a class is not a nested class.
      if (class_depth > 0 && i + 1 < p.size() && p[i + 1] == ':') {
        size_t close = p.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(p.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
      }
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Result<Regex> Regex::Compile(std::string_view onig_pattern) {
  EGRET_ASSIGN_OR_RETURN(std::string pcre, OnigToPcre2(onig_pattern));
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre.data()), pcre.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (!code)
    return Error("regex " + std::string(onig_pattern) + " does not compile: " + Pcre2Message(err) +
                 " (at byte " + std::to_string(offset) + " of its PCRE2 form)");
  auto holder = std::make_shared<Code>();
  holder->code = code;
  holder->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex r;
  r.code_ = std::move(holder);
  r.pattern_ = std::string(onig_pattern);
  return r;
}

Result<Regex> Regex::Literal(std::string_view str) {
  std::string quoted = "\\Q";
  // \E cannot appear inside \Q...\E; split it out.
  for (size_t i = 0; i < str.size(); ++i) {
    if (str[i] == '\\' && i + 1 < str.size() && str[i + 1] == 'E') {
      quoted += "\\E\\\\\\QE";
      ++i;
    } else {
      quoted += str[i];
    }
  }
  quoted += "\\E";
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(quoted.data()), quoted.size(),
                                   PCRE2_UTF, &err, &offset, nullptr);
  if (!code) return Error("literal pattern \"" + std::string(str) + "\": " + Pcre2Message(err));
  auto holder = std::make_shared<Code>();
  holder->code = code;
  holder->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex r;
  r.code_ = std::move(holder);
  r.pattern_ = std::string(str);
  return r;
}

Status Regex::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const {
  MatchState& st = State();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  size_t last_end = std::string_view::npos;
  while (start <= text.size()) {
    int rc = code_->jit ? pcre2_jit_match(code_->code, subject, text.size(), start, 0, st.data, st.ctx)
                        : pcre2_match(code_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK,
                                      st.data, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0)
      return Error("regex " + pattern_ + ": matching failed at byte " + std::to_string(start) + ": " +
                   Pcre2Message(rc));
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t s = ov[0], e = ov[1];
    if (s == e && last_end == e) {
      if (start >= text.size()) break;
      start += Utf8Len(static_cast<unsigned char>(text[start]));
      continue;
    }
    out->emplace_back(s, e);
    last_end = e;
    start = e;
  }
  return Ok();
}

}  // namespace egret::tokenizer
