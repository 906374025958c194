// Pre-tokenizers: ByteLevel, Split, Sequence, Digits, Metaspace, Whitespace, WhitespaceSplit,
// Punctuation and CharDelimiterSplit, with the split behaviours of Hugging Face's
// NormalizedString::split (Removed, Isolated, MergedWithPrevious, MergedWithNext,
// Contiguous) and its pattern inversion.
#include <unicode/uchar.h>

#include <nlohmann/json.hpp>

#include "mpi_trainer/tokenizer/pipeline.h"
#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {
namespace {

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

using Span = std::pair<size_t, size_t>;
struct Mark {
  Span span;
  bool flag;  // is a match (before behaviours), or is to be removed (after)
};

// Pattern::find_matches: the pieces of TEXT, each marked as match or not.
std::vector<Mark> FromMatches(size_t len, const std::vector<Span>& matches) {
  std::vector<Mark> out;
  if (len == 0) return {{{0, 0}, false}};
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev != b) out.push_back({{prev, b}, false});
    out.push_back({{b, e}, true});
    prev = e;
  }
  if (prev != len) out.push_back({{prev, len}, false});
  return out;
}

// A character predicate matches every such character on its own.
template <typename Pred>
std::vector<Mark> CharMatches(std::string_view text, Pred pred) {
  std::vector<Span> m;
  size_t i = 0;
  while (i < text.size()) {
    size_t at = i;
    if (pred(DecodeUtf8(text, i))) m.emplace_back(at, i);
  }
  return FromMatches(text.size(), m);
}

std::vector<Mark> ApplyBehavior(std::vector<Mark> marks, Behavior b) {
  std::vector<Mark> acc;
  switch (b) {
    case Behavior::kRemoved:
      return marks;
    case Behavior::kIsolated:
      for (auto& m : marks) m.flag = false;
      return marks;
    case Behavior::kContiguous: {
      bool prev = false;
      for (const auto& m : marks) {
        if (m.flag == prev && !acc.empty()) acc.back().span.second = m.span.second;
        else acc.push_back({m.span, false});
        prev = m.flag;
      }
      return acc;
    }
    case Behavior::kMergedWithPrevious: {
      bool prev = false;
      for (const auto& m : marks) {
        if (m.flag && !prev && !acc.empty()) acc.back().span.second = m.span.second;
        else acc.push_back({m.span, false});
        prev = m.flag;
      }
      return acc;
    }
    case Behavior::kMergedWithNext: {
      bool prev = false;
      for (auto it = marks.rbegin(); it != marks.rend(); ++it) {
        if (it->flag && !prev && !acc.empty()) acc.back().span.first = it->span.first;
        else acc.push_back({it->span, false});
        prev = it->flag;
      }
      return {acc.rbegin(), acc.rend()};
    }
  }
  return marks;
}

void SplitInto(const Aligned& piece, std::vector<Mark> marks, Behavior b, bool invert,
               std::vector<Aligned>* out) {
  if (invert)
    for (auto& m : marks) m.flag = !m.flag;
  for (const auto& m : ApplyBehavior(std::move(marks), b)) {
    if (m.flag || m.span.first == m.span.second) continue;
    out->push_back(piece.Slice(m.span.first, m.span.second));
  }
}

// Runs FN over every piece, replacing it by the pieces FN appends.
template <typename Fn>
Status ForEachPiece(std::vector<Aligned>* pieces, Fn fn) {
  std::vector<Aligned> next;
  next.reserve(pieces->size() * 4);
  for (auto& p : *pieces) {
    if (p.byte_level) p = MaterializeByteLevel(p);
    EGRET_TRY(fn(p, &next));
  }
  *pieces = std::move(next);
  return Ok();
}

class RegexSplit final : public PreTokenizer {
 public:
  RegexSplit(Regex re, Behavior b, bool invert) : re_(std::move(re)), b_(b), invert_(invert) {}
  Status Split(std::vector<Aligned>* pieces) const override {
    std::vector<Span> m;
    return ForEachPiece(pieces, [&](const Aligned& p, std::vector<Aligned>* out) -> Status {
      m.clear();
      EGRET_TRY(re_.FindAll(p.text, &m));
      SplitInto(p, FromMatches(p.text.size(), m), b_, invert_, out);
      return Ok();
    });
  }

 private:
  Regex re_;
  Behavior b_;
  bool invert_;
};

template <typename Pred>
class CharSplit final : public PreTokenizer {
 public:
  CharSplit(Pred pred, Behavior b) : pred_(pred), b_(b) {}
  Status Split(std::vector<Aligned>* pieces) const override {
    return ForEachPiece(pieces, [&](const Aligned& p, std::vector<Aligned>* out) -> Status {
      SplitInto(p, CharMatches(p.text, pred_), b_, false, out);
      return Ok();
    });
  }

 private:
  Pred pred_;
  Behavior b_;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> MakeCharSplit(Pred pred, Behavior b) {
  return std::make_unique<CharSplit<Pred>>(pred, b);
}

constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

class ByteLevelPre final : public PreTokenizer {
 public:
  ByteLevelPre(bool add_prefix_space, std::optional<Regex> re)
      : add_prefix_space_(add_prefix_space), re_(std::move(re)) {}
  Status Split(std::vector<Aligned>* pieces) const override {
    std::vector<Span> m;
    return ForEachPiece(pieces, [&](Aligned& p, std::vector<Aligned>* out) -> Status {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.Prepend(" ");
      size_t first = out->size();
      if (re_) {
        m.clear();
        EGRET_TRY(re_->FindAll(p.text, &m));
        SplitInto(p, FromMatches(p.text.size(), m), Behavior::kIsolated, false, out);
      } else if (!p.text.empty()) {
        out->push_back(std::move(p));
      }
      for (size_t i = first; i < out->size(); ++i) (*out)[i].byte_level = true;
      return Ok();
    });
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> re_;
};

class Metaspace final : public PreTokenizer {
 public:
  enum class Scheme { kAlways, kFirst, kNever };
  Metaspace(std::string replacement, Scheme scheme, bool split)
      : rep_(std::move(replacement)), scheme_(scheme), split_(split) {}
  Status Split(std::vector<Aligned>* pieces) const override {
    return ForEachPiece(pieces, [&](const Aligned& p, std::vector<Aligned>* out) -> Status {
      Aligned r;
      r.track = p.track;
      r.at_start = p.at_start;
      for (size_t i = 0; i < p.text.size(); ++i) {
        if (p.text[i] == ' ') r.Push(rep_, p.Begin(i), p.End(i + 1));
        else r.Push(std::string_view(&p.text[i], 1), p.Begin(i), p.End(i + 1));
      }
      bool starts = r.text.compare(0, rep_.size(), rep_) == 0;
      if (!starts && (scheme_ == Scheme::kAlways || (scheme_ == Scheme::kFirst && p.at_start)))
        r.Prepend(rep_);
      if (!split_) {
        if (!r.text.empty()) out->push_back(std::move(r));
        return Ok();
      }
      std::vector<Span> m;
      for (size_t at = r.text.find(rep_); at != std::string::npos; at = r.text.find(rep_, at + rep_.size()))
        m.emplace_back(at, at + rep_.size());
      SplitInto(r, FromMatches(r.text.size(), m), Behavior::kMergedWithNext, false, out);
      return Ok();
    });
  }

 private:
  std::string rep_;
  Scheme scheme_;
  bool split_;
};

class SequencePre final : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  Status Split(std::vector<Aligned>* pieces) const override {
    for (const auto& s : steps_) EGRET_TRY(s->Split(pieces));
    return Ok();
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

Result<Behavior> ParseBehavior(const nlohmann::json& j, const Where& where, const char* fallback) {
  std::string s = fallback;
  auto it = j.find("behavior");
  if (it != j.end()) {
    if (!it->is_string()) return Error(where + ".behavior must be a string (got " + it->dump() + ")");
    s = it->get<std::string>();
  }
  // tokenizer.json spells these in PascalCase; older files used snake_case.
  std::string k;
  for (char c : s)
    if (c != '_') k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (k == "removed") return Behavior::kRemoved;
  if (k == "isolated") return Behavior::kIsolated;
  if (k == "mergedwithprevious") return Behavior::kMergedWithPrevious;
  if (k == "mergedwithnext") return Behavior::kMergedWithNext;
  if (k == "contiguous") return Behavior::kContiguous;
  return Error(where + ".behavior " + Quote(s) +
               " is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

bool IsPunctuation(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
                        (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
  return u_ispunct(static_cast<UChar32>(cp));
}

bool IsNumeric(uint32_t cp) {
  int8_t t = u_charType(static_cast<UChar32>(cp));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

}  // namespace

Result<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const nlohmann::json& j, const Where& where) {
  using Ptr = std::unique_ptr<PreTokenizer>;
  if (j.is_null()) return Ptr();
  EGRET_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "ByteLevel") {
    EGRET_ASSIGN_OR_RETURN(bool prefix, GetBool(j, "add_prefix_space", true, where));
    EGRET_ASSIGN_OR_RETURN(bool use_regex, GetBool(j, "use_regex", true, where));
    std::optional<Regex> re;
    if (use_regex) {
      EGRET_ASSIGN_OR_RETURN(Regex r, Regex::Compile(kGpt2Pattern));
      re = std::move(r);
    }
    return Ptr(new ByteLevelPre(prefix, std::move(re)));
  }
  if (type == "Split") {
    EGRET_ASSIGN_OR_RETURN(Regex re, MakePattern(j.value("pattern", nlohmann::json()), where + ".pattern"));
    EGRET_ASSIGN_OR_RETURN(Behavior b, ParseBehavior(j, where, "Removed"));
    EGRET_ASSIGN_OR_RETURN(bool invert, GetBool(j, "invert", false, where));
    return Ptr(new RegexSplit(std::move(re), b, invert));
  }
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array()) return Error(where + ".pretokenizers must be a list");
    std::vector<Ptr> steps;
    for (size_t i = 0; i < it->size(); ++i) {
      EGRET_ASSIGN_OR_RETURN(Ptr step, MakePreTokenizer((*it)[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
      if (step) steps.push_back(std::move(step));
    }
    return Ptr(new SequencePre(std::move(steps)));
  }
  if (type == "Digits") {
    EGRET_ASSIGN_OR_RETURN(bool individual, GetBool(j, "individual_digits", false, where));
    return MakeCharSplit(IsNumeric, individual ? Behavior::kIsolated : Behavior::kContiguous);
  }
  if (type == "Whitespace") {
    EGRET_ASSIGN_OR_RETURN(Regex re, Regex::Compile("\\w+|[^\\w\\s]+"));
    return Ptr(new RegexSplit(std::move(re), Behavior::kRemoved, true));
  }
  if (type == "WhitespaceSplit") return MakeCharSplit(IsWhiteSpace, Behavior::kRemoved);
  if (type == "Punctuation") {
    EGRET_ASSIGN_OR_RETURN(Behavior b, ParseBehavior(j, where, "Isolated"));
    return MakeCharSplit(IsPunctuation, b);
  }
  if (type == "CharDelimiterSplit") {
    EGRET_ASSIGN_OR_RETURN(std::string d, GetString(j, "delimiter", where));
    size_t i = 0;
    uint32_t cp = d.empty() ? 0 : DecodeUtf8(d, i);
    if (d.empty() || i != d.size()) return Error(where + ".delimiter must be one character (got " + Quote(d) + ")");
    return MakeCharSplit([cp](uint32_t c) { return c == cp; }, Behavior::kRemoved);
  }
  if (type == "Metaspace") {
    EGRET_ASSIGN_OR_RETURN(std::string rep, GetString(j, "replacement", where));
    EGRET_ASSIGN_OR_RETURN(bool split, GetBool(j, "split", true, where));
    Metaspace::Scheme scheme = Metaspace::Scheme::kAlways;
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
      std::string s = j["prepend_scheme"].get<std::string>();
      if (s == "first") scheme = Metaspace::Scheme::kFirst;
      else if (s == "never") scheme = Metaspace::Scheme::kNever;
      else if (s != "always")
        return Error(where + ".prepend_scheme " + Quote(s) + " is not one of always, first, never");
    }
    EGRET_ASSIGN_OR_RETURN(bool prefix, GetBool(j, "add_prefix_space", true, where));
    if (!prefix) scheme = Metaspace::Scheme::kNever;
    return Ptr(new Metaspace(std::move(rep), scheme, split));
  }
  return Error(where + ": pre-tokenizer type " + Quote(type) +
               " is not supported (supported: ByteLevel, Split, Sequence, Digits, Metaspace, "
               "Whitespace, WhitespaceSplit, Punctuation, CharDelimiterSplit)");
}

}  // namespace egret::tokenizer
