#include "mpi_trainer/data/import.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "mpi_trainer/data/sha256.h"

namespace egret::data {

Result<SplitBy> ParseSplitBy(const std::string& s) {
  if (s == "hash") return SplitBy::kHash;
  if (s == "seed") return SplitBy::kSeed;
  if (s == "none") return SplitBy::kNone;
  return Error("split-by must be one of hash, seed, none (got \"" + s + "\")");
}

namespace {

const char* SplitByName(SplitBy s) {
  switch (s) {
    case SplitBy::kHash: return "hash";
    case SplitBy::kSeed: return "seed";
    case SplitBy::kNone: return "none";
  }
  return "?";
}

// splitmix64: a fixed, well-mixed function of its input.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct Split {
  std::vector<Document> docs;
  DatasetMeta meta;
};

void Count(DatasetMeta& m, ExampleKind k) {
  switch (k) {
    case ExampleKind::kText: ++m.text_examples; break;
    case ExampleKind::kPromptCompletion: ++m.prompt_completion_examples; break;
    case ExampleKind::kChat: ++m.chat_examples; break;
  }
}

Status Finish(Split& s, const std::string& path, const ImportOptions& o, int32_t pad_id) {
  PackedRows packed = Pack(s.docs, o.seq_len, pad_id, o.overflow);
  DatasetMeta& m = s.meta;
  m.documents = static_cast<int64_t>(s.docs.size());
  m.tokens = 0;
  for (const auto& d : s.docs) m.tokens += static_cast<int64_t>(d.ids.size());
  m.target_tokens = packed.target_tokens;
  m.rows = packed.rows;
  m.documents_split = packed.documents_split;
  m.documents_truncated = packed.documents_truncated;
  m.documents_dropped = packed.documents_dropped;
  return WriteDatasetFile(path, m, s.docs, packed);
}

}  // namespace

bool IsEvalLine(SplitBy by, uint64_t seed, int64_t line_no, std::string_view line, double eval_fraction) {
  if (by == SplitBy::kNone || eval_fraction <= 0) return false;
  uint64_t key;
  if (by == SplitBy::kHash) {
    Sha256 h;
    h.Update(&seed, sizeof seed);
    h.Update(line);
    key = std::stoull(h.Hex().substr(0, 16), nullptr, 16);
  } else {
    key = Mix(Mix(seed) ^ static_cast<uint64_t>(line_no));
  }
  // The top 53 bits as a uniform double in [0, 1).
  double u = static_cast<double>(key >> 11) * 0x1.0p-53;
  return u < eval_fraction;
}

Result<ImportReport> ImportJsonl(const ImportOptions& o, const DocumentEncoder& encoder,
                                 const std::function<void(const std::string&)>& on_bad_line) {
  if (o.seq_len < 2) return Error("seq-len must be at least 2 (got " + std::to_string(o.seq_len) + ")");
  if (o.eval_fraction < 0 || o.eval_fraction >= 1)
    return Error("eval-fraction must be in [0, 1) (got " + std::to_string(o.eval_fraction) + ")");
  bool split = o.eval_fraction > 0 && o.split_by != SplitBy::kNone;
  if (split && o.eval_output.empty()) return Error("eval-fraction > 0 needs an eval output file (--eval-output)");

  std::ifstream in(o.input, std::ios::binary);
  if (!in) return Error(o.input + ": cannot open (" + std::strerror(errno) + ")");
  EGRET_ASSIGN_OR_RETURN(std::string source_sha, Sha256File(o.input));

  DatasetMeta base;
  base.tokenizer_sha256 = encoder.Fingerprint();
  base.source_sha256 = source_sha;
  base.source_name = BaseName(o.input);
  base.split_by = split ? SplitByName(o.split_by) : "none";
  base.split_fraction = split ? o.eval_fraction : 0;
  base.split_seed = static_cast<int64_t>(o.seed);
  base.seq_len = o.seq_len;
  base.pad_id = encoder.PadId();
  base.overflow = o.overflow == Overflow::kSplit ? "split" : o.overflow == Overflow::kTruncate ? "truncate" : "drop";
  Split train{{}, base}, eval{{}, base};
  train.meta.split = split ? "train" : "all";
  eval.meta.split = "eval";

  ImportReport report;
  std::string line;
  int64_t line_no = 0, total = 0, skipped = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are not examples
    ++total;
    Result<Document> doc = Error("");
    auto ex = ParseExample(line);
    if (ex.ok()) doc = encoder.Encode(*ex);
    if (!ex.ok() || !doc.ok()) {
      std::string msg = o.input + ":" + std::to_string(line_no) + ": " +
                        (ex.ok() ? doc.error().message() : ex.error().message());
      if (o.strict) return Error(msg + " (--strict: fix or remove the line, or import without --strict to skip it)");
      ++skipped;
      if (report.errors.size() < o.max_reported_errors) report.errors.push_back(msg);
      if (on_bad_line) on_bad_line(msg);
      continue;
    }
    doc->source_line = line_no;
    Split& to = split && IsEvalLine(o.split_by, o.seed, line_no, line, o.eval_fraction) ? eval : train;
    Count(to.meta, ex->kind);
    ++to.meta.lines_used;
    to.docs.push_back(std::move(doc).value());
  }
  if (in.bad()) return Error(o.input + ": read error after line " + std::to_string(line_no));

  for (Split* s : {&train, &eval}) {
    s->meta.lines_total = total;
    s->meta.lines_skipped = skipped;
  }
  train.meta.lines_other_split = eval.meta.lines_used;
  eval.meta.lines_other_split = train.meta.lines_used;
  if (train.docs.empty())
    return Error(o.input + ": no usable examples (" + std::to_string(total) + " lines, " + std::to_string(skipped) +
                 " skipped" + (report.errors.empty() ? "" : "; first: " + report.errors.front()) + ")");
  EGRET_TRY(Finish(train, o.output, o, encoder.PadId()));
  if (split) EGRET_TRY(Finish(eval, o.eval_output, o, encoder.PadId()));
  report.train = train.meta;
  report.eval = eval.meta;
  report.bad_lines = skipped;
  return report;
}

}  // namespace egret::data
