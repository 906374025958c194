// Decoders: ByteLevel, and the SentencePiece-style chain (Replace, ByteFallback, Fuse, Strip,
// Metaspace), BPEDecoder and Sequence, with Hugging Face's decode_chain semantics.
#include <nlohmann/json.hpp>

#include "mpi_trainer/tokenizer/byte_level.h"
#include "mpi_trainer/tokenizer/pipeline.h"
#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {
namespace {

class ByteLevelDec final : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      // A token with a character outside the alphabet (an added token such as "<|x y|>")
      // contributes its own UTF-8 bytes.
      if (auto b = FromByteLevel(t)) bytes += *b;
      else bytes += t;
    }
    return {Utf8Lossy(bytes)};
  }
};

class ReplaceDec final : public Decoder {
 public:
  ReplaceDec(Regex re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::vector<std::pair<size_t, size_t>> m;
    for (auto& t : tokens) {
      m.clear();
      if (!re_.FindAll(t, &m).ok() || m.empty()) continue;
      std::string out;
      size_t prev = 0;
      for (auto [b, e] : m) {
        out.append(t, prev, b - prev);
        out += content_;
        prev = e;
      }
      out.append(t, prev, std::string::npos);
      t = std::move(out);
    }
    return tokens;
  }

 private:
  Regex re_;
  std::string content_;
};

// Runs of <0xXX> tokens become the bytes they stand for (invalid UTF-8 -> one U+FFFD per byte).
class ByteFallbackDec final : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (FindInvalidUtf8(pending) == std::string::npos) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending_count; ++i) out.push_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (auto& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        char* end = nullptr;
        long v = std::strtol(t.substr(3, 2).c_str(), &end, 16);
        if (end && *end == '\0') byte = static_cast<int>(v);
      }
      if (byte >= 0) {
        pending += static_cast<char>(byte);
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

class FuseDec final : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    return {all};
  }
};

// Strips up to START leading and STOP trailing occurrences of CONTENT (one character) per token.
class StripDec final : public Decoder {
 public:
  StripDec(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) {
      size_t b = 0, e = t.size();
      for (size_t i = 0; i < start_ && t.compare(b, content_.size(), content_) == 0 && b < e; ++i)
        b += content_.size();
      for (size_t i = 0; i < stop_ && e >= b + content_.size() &&
                         t.compare(e - content_.size(), content_.size(), content_) == 0;
           ++i)
        e -= content_.size();
      t = t.substr(b, e - b);
    }
    return tokens;
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

// As Hugging Face does: in the first token every replacement character is dropped (unless
// the prepend scheme is "never"); elsewhere each becomes a space.
class MetaspaceDec final : public Decoder {
 public:
  MetaspaceDec(std::string rep, bool strip_first) : rep_(std::move(rep)), strip_first_(strip_first) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (size_t k = 0; k < t.size();) {
        if (!rep_.empty() && t.compare(k, rep_.size(), rep_) == 0) {
          if (!(i == 0 && strip_first_)) out += ' ';
          k += rep_.size();
        } else {
          out += t[k++];
        }
      }
      tokens[i] = std::move(out);
    }
    return tokens;
  }

 private:
  std::string rep_;
  bool strip_first_;
};

class SuffixDec final : public Decoder {
 public:
  explicit SuffixDec(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string rep = i + 1 == tokens.size() ? "" : " ";
      for (size_t at = t.find(suffix_); !suffix_.empty() && at != std::string::npos;
           at = t.find(suffix_, at + rep.size())) {
        t.replace(at, suffix_.size(), rep);
      }
    }
    return tokens;
  }

 private:
  std::string suffix_;
};

class SequenceDec final : public Decoder {
 public:
  explicit SequenceDec(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (const auto& s : steps_) tokens = s->DecodeChain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeDecoder(const nlohmann::json& j, const Where& where) {
  using Ptr = std::unique_ptr<Decoder>;
  if (j.is_null()) return Ptr();
  EGRET_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "ByteLevel") return Ptr(new ByteLevelDec());
  if (type == "ByteFallback") return Ptr(new ByteFallbackDec());
  if (type == "Fuse") return Ptr(new FuseDec());
  if (type == "Replace") {
    EGRET_ASSIGN_OR_RETURN(Regex re, MakePattern(j.value("pattern", nlohmann::json()), where + ".pattern"));
    EGRET_ASSIGN_OR_RETURN(std::string content, GetString(j, "content", where));
    return Ptr(new ReplaceDec(std::move(re), std::move(content)));
  }
  if (type == "Strip") {
    EGRET_ASSIGN_OR_RETURN(std::string content, GetString(j, "content", where));
    size_t start = j.value("start", 0), stop = j.value("stop", 0);
    return Ptr(new StripDec(std::move(content), start, stop));
  }
  if (type == "Metaspace") {
    EGRET_ASSIGN_OR_RETURN(std::string rep, GetString(j, "replacement", where));
    std::string scheme = j.value("prepend_scheme", std::string("always"));
    EGRET_ASSIGN_OR_RETURN(bool prefix, GetBool(j, "add_prefix_space", true, where));
    return Ptr(new MetaspaceDec(std::move(rep), prefix && scheme != "never"));
  }
  if (type == "BPEDecoder") return Ptr(new SuffixDec(j.value("suffix", std::string("</w>"))));
  if (type == "Sequence") {
    auto it = j.find("decoders");
    if (it == j.end() || !it->is_array()) return Error(where + ".decoders must be a list");
    std::vector<Ptr> steps;
    for (size_t i = 0; i < it->size(); ++i) {
      EGRET_ASSIGN_OR_RETURN(Ptr step, MakeDecoder((*it)[i], where + ".decoders[" + std::to_string(i) + "]"));
      if (step) steps.push_back(std::move(step));
    }
    return Ptr(new SequenceDec(std::move(steps)));
  }
  return Error(where + ": decoder type " + Quote(type) +
               " is not supported (supported: ByteLevel, ByteFallback, Fuse, Replace, Strip, "
               "Metaspace, BPEDecoder, Sequence)");
}

}  // namespace egret::tokenizer
