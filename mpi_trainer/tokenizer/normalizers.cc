// Normalizers: Unicode forms (ICU), Lowercase, Prepend, Replace, Strip, StripAccents and
// Sequence, with Hugging Face's semantics. Alignment is kept per normalization chunk, so a
// token maps back to the input characters it was made from.
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <nlohmann/json.hpp>

#include "mpi_trainer/tokenizer/pipeline.h"
#include "mpi_trainer/tokenizer/regex.h"
#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {
namespace {

bool IsAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

class UnicodeForm final : public Normalizer {
 public:
  explicit UnicodeForm(const UNormalizer2* n2) : n2_(n2) {}

  Aligned Normalize(const Aligned& in) const override {
    if (IsAscii(in.text)) return in;
    Aligned out;
    out.track = in.track;
    if (!in.track) {
      out.text = Run(in.text);
      return out;
    }
    // Chunks between normalization boundaries normalize independently.
    size_t i = 0, chunk = 0;
    while (i < in.text.size()) {
      size_t at = i;
      uint32_t cp = DecodeUtf8(in.text, i);
      if (at > chunk && unorm2_hasBoundaryBefore(n2_, static_cast<UChar32>(cp))) {
        Flush(in, chunk, at, &out);
        chunk = at;
      }
    }
    if (chunk < in.text.size()) Flush(in, chunk, in.text.size(), &out);
    return out;
  }

 private:
  void Flush(const Aligned& in, size_t b, size_t e, Aligned* out) const {
    out->Push(Run(std::string_view(in.text).substr(b, e - b)), in.lo[b], in.hi[e - 1]);
  }

  std::string Run(std::string_view s) const {
    UErrorCode err = U_ZERO_ERROR;
    std::u16string src(s.size() + 1, u'\0');
    int32_t len = 0;
    u_strFromUTF8(src.data(), static_cast<int32_t>(src.size()), &len, s.data(),
                  static_cast<int32_t>(s.size()), &err);
    src.resize(len);
    err = U_ZERO_ERROR;
    std::u16string dst(src.size() * 3 + 8, u'\0');
    int32_t n = unorm2_normalize(n2_, src.data(), len, dst.data(), static_cast<int32_t>(dst.size()), &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
      dst.resize(n);
      err = U_ZERO_ERROR;
      n = unorm2_normalize(n2_, src.data(), len, dst.data(), n, &err);
    }
    dst.resize(U_SUCCESS(err) ? n : 0);
    std::string out(dst.size() * 3 + 1, '\0');
    err = U_ZERO_ERROR;
    int32_t out_len = 0;
    u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &out_len, dst.data(),
                static_cast<int32_t>(dst.size()), &err);
    out.resize(U_SUCCESS(err) ? out_len : 0);
    return out;
  }

  const UNormalizer2* n2_;
};

// Rewrites each code point independently (Lowercase, StripAccents).
template <typename F>
Aligned MapChars(const Aligned& in, F f) {
  Aligned out;
  out.track = in.track;
  out.text.reserve(in.text.size());
  size_t i = 0;
  std::string piece;
  while (i < in.text.size()) {
    size_t at = i;
    uint32_t cp = DecodeUtf8(in.text, i);
    piece.clear();
    f(cp, std::string_view(in.text).substr(at, i - at), piece);
    out.Push(piece, in.Begin(at), in.End(i));
  }
  return out;
}

class Lowercase final : public Normalizer {
 public:
  Aligned Normalize(const Aligned& in) const override {
    return MapChars(in, [](uint32_t cp, std::string_view orig, std::string& out) {
      if (cp < 0x80) {
        out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        return;
      }
      // Full (not simple) lowercase of the single character, as Rust's char::to_lowercase.
      UChar src[2];
      int32_t src_len = 0;
      U16_APPEND_UNSAFE(src, src_len, static_cast<UChar32>(cp));
      UChar dst[8];
      UErrorCode err = U_ZERO_ERROR;
      int32_t n = u_strToLower(dst, 8, src, src_len, "", &err);
      if (U_FAILURE(err)) {
        out.append(orig);
        return;
      }
      for (int32_t k = 0; k < n;) {
        UChar32 c;
        U16_NEXT(dst, k, n, c);
        AppendUtf8(static_cast<uint32_t>(c), out);
      }
    });
  }
};

class StripAccents final : public Normalizer {
 public:
  Aligned Normalize(const Aligned& in) const override {
    return MapChars(in, [](uint32_t cp, std::string_view orig, std::string& out) {
      if (u_charType(static_cast<UChar32>(cp)) != U_NON_SPACING_MARK) out.append(orig);
    });
  }
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string s) : s_(std::move(s)) {}
  Aligned Normalize(const Aligned& in) const override {
    Aligned out = in;
    if (!out.text.empty()) out.Prepend(s_);
    return out;
  }

 private:
  std::string s_;
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  Aligned Normalize(const Aligned& in) const override {
    size_t b = 0, e = in.text.size();
    if (left_) {
      while (b < e) {
        size_t i = b;
        if (!IsWhiteSpace(DecodeUtf8(in.text, i))) break;
        b = i;
      }
    }
    if (right_) {
      while (e > b) {
        size_t s = e - 1;
        while (s > b && (static_cast<unsigned char>(in.text[s]) & 0xC0) == 0x80) --s;
        size_t i = s;
        if (!IsWhiteSpace(DecodeUtf8(in.text, i))) break;
        e = s;
      }
    }
    return in.Slice(b, e);
  }

 private:
  bool left_, right_;
};

class Replace final : public Normalizer {
 public:
  Replace(Regex re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  Aligned Normalize(const Aligned& in) const override {
    std::vector<std::pair<size_t, size_t>> m;
    if (!re_.FindAll(in.text, &m).ok() || m.empty()) return in;
    Aligned out;
    out.track = in.track;
    size_t prev = 0;
    for (auto [b, e] : m) {
      if (b > prev) {
        Aligned keep = in.Slice(prev, b);
        out.text += keep.text;
        if (in.track) {
          out.lo.insert(out.lo.end(), keep.lo.begin(), keep.lo.end());
          out.hi.insert(out.hi.end(), keep.hi.begin(), keep.hi.end());
        }
      }
      out.Push(content_, in.Begin(b), b < e ? in.End(e) : in.Begin(b));
      prev = e;
    }
    if (prev < in.text.size()) {
      Aligned keep = in.Slice(prev, in.text.size());
      out.text += keep.text;
      if (in.track) {
        out.lo.insert(out.lo.end(), keep.lo.begin(), keep.lo.end());
        out.hi.insert(out.hi.end(), keep.hi.begin(), keep.hi.end());
      }
    }
    return out;
  }

 private:
  Regex re_;
  std::string content_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  Aligned Normalize(const Aligned& in) const override {
    Aligned cur = in;
    for (const auto& s : steps_) cur = s->Normalize(cur);
    return cur;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

const UNormalizer2* Form(const std::string& type) {
  UErrorCode err = U_ZERO_ERROR;
  if (type == "NFC") return unorm2_getNFCInstance(&err);
  if (type == "NFD") return unorm2_getNFDInstance(&err);
  if (type == "NFKC") return unorm2_getNFKCInstance(&err);
  return unorm2_getNFKDInstance(&err);
}

}  // namespace

// The pattern of Replace (normalizer, pre-tokenizer and decoder): {"String": s} or {"Regex": r}.
Result<Regex> MakePattern(const nlohmann::json& j, const Where& where) {
  if (j.is_object() && j.size() == 1) {
    if (j.contains("String") && j["String"].is_string()) return Regex::Literal(j["String"].get<std::string>());
    if (j.contains("Regex") && j["Regex"].is_string()) {
      auto re = Regex::Compile(j["Regex"].get<std::string>());
      if (!re.ok()) return re.error().context(where);
      return re;
    }
  }
  return Error(where + " must be {\"String\": ...} or {\"Regex\": ...} (got " + j.dump() + ")");
}

Result<std::unique_ptr<Normalizer>> MakeNormalizer(const nlohmann::json& j, const Where& where) {
  if (j.is_null()) return std::unique_ptr<Normalizer>();
  EGRET_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD")
    return std::unique_ptr<Normalizer>(new UnicodeForm(Form(type)));
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new Lowercase());
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(new StripAccents());
  if (type == "Prepend") {
    EGRET_ASSIGN_OR_RETURN(std::string s, GetString(j, "prepend", where));
    return std::unique_ptr<Normalizer>(new Prepend(std::move(s)));
  }
  if (type == "Strip") {
    EGRET_ASSIGN_OR_RETURN(bool l, GetBool(j, "strip_left", true, where));
    EGRET_ASSIGN_OR_RETURN(bool r, GetBool(j, "strip_right", true, where));
    return std::unique_ptr<Normalizer>(new Strip(l, r));
  }
  if (type == "Replace") {
    EGRET_ASSIGN_OR_RETURN(Regex re, MakePattern(j.value("pattern", nlohmann::json()), where + ".pattern"));
    EGRET_ASSIGN_OR_RETURN(std::string content, GetString(j, "content", where));
    return std::unique_ptr<Normalizer>(new Replace(std::move(re), std::move(content)));
  }
  if (type == "Sequence") {
    auto it = j.find("normalizers");
    if (it == j.end() || !it->is_array()) return Error(where + ".normalizers must be a list");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (size_t i = 0; i < it->size(); ++i) {
      EGRET_ASSIGN_OR_RETURN(auto step, MakeNormalizer((*it)[i], where + ".normalizers[" + std::to_string(i) + "]"));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<Normalizer>(new Sequence(std::move(steps)));
  }
  return Error(where + ": normalizer type " + Quote(type) +
               " is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, "
               "Prepend, Strip, Replace, Sequence)");
}

}  // namespace egret::tokenizer
