// JSONL -> HDF5 dataset: parse each line, tokenize it with its loss mask, split train/eval,
// pack into rows and write the files. Bad lines are reported as file:line: reason.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "mpi_trainer/data/dataset_file.h"
#include "mpi_trainer/data/example.h"
#include "mpi_trainer/data/packing.h"

namespace egret::data {

// Turns an example into token ids and a loss mask. The real one renders chat templates with
// the model's tokenizer (encoder_hf.h); tests of the pipeline's logic may use a simpler one.
class DocumentEncoder {
 public:
  virtual ~DocumentEncoder() = default;
  // Errors say why the example cannot be trained on ("no assistant message").
  virtual Result<Document> Encode(const Example& ex) const = 0;
  // Identifies the tokenizer (and chat template) so datasets and models can be matched.
  virtual std::string Fingerprint() const = 0;
  virtual int32_t PadId() const = 0;
};

enum class SplitBy {
  kNone,
  kHash,  // by a hash of the line's bytes (and the seed): stable when lines are added or
          // reordered, and duplicate lines always land in the same split
  kSeed,  // by the line number and the seed: a seeded random split of the file as it is
};
Result<SplitBy> ParseSplitBy(const std::string& s);

// True if the line goes to the eval split. Pure: the same arguments always give the same answer.
bool IsEvalLine(SplitBy by, uint64_t seed, int64_t line_no, std::string_view line, double eval_fraction);

struct ImportOptions {
  std::string input;        // JSONL
  std::string output;       // HDF5 (the train split when eval_fraction > 0)
  std::string eval_output;  // HDF5 for the eval split; required when eval_fraction > 0
  double eval_fraction = 0;
  SplitBy split_by = SplitBy::kHash;
  uint64_t seed = 0;
  int64_t seq_len = 2048;
  Overflow overflow = Overflow::kSplit;
  bool strict = false;              // the first bad line fails the import
  size_t max_reported_errors = 50;  // bad lines printed in full; the rest are counted
};

struct ImportReport {
  DatasetMeta train, eval;
  int64_t bad_lines = 0;
  std::vector<std::string> errors;  // "file:line: reason", the first max_reported_errors
};

// Writes options.output (and eval_output). A bad line is an error with --strict, otherwise
// it is skipped, counted and reported through on_bad_line (if set) as it is found.
Result<ImportReport> ImportJsonl(const ImportOptions& options, const DocumentEncoder& encoder,
                                 const std::function<void(const std::string&)>& on_bad_line = {});

}  // namespace egret::data
