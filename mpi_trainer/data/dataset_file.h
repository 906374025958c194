// The HDF5 dataset file egret-data writes and egret-train reads (layout in data/README.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "mpi_trainer/data/packing.h"
#include "mpi_trainer/h5/h5.h"

namespace egret::data {

constexpr int64_t kDatasetFormatVersion = 1;
constexpr const char* kDatasetFormat = "egret-dataset";

struct DatasetMeta {
  int64_t format_version = kDatasetFormatVersion;
  std::string tokenizer_sha256;  // of tokenizer.json (+ tokenizer_config.json when present)
  std::string source_sha256;     // of the JSONL bytes
  std::string source_name;       // the JSONL's file name (no directories)
  std::string split = "all";     // all | train | eval
  std::string split_by = "none"; // none | hash | seed
  double split_fraction = 0;     // the eval share asked for
  int64_t split_seed = 0;
  int64_t seq_len = 0;
  int64_t pad_id = 0;
  std::string overflow = "split";
  // Counts over the whole source file.
  int64_t lines_total = 0, lines_skipped = 0, lines_other_split = 0;
  // Counts for this file.
  int64_t lines_used = 0, text_examples = 0, prompt_completion_examples = 0, chat_examples = 0;
  int64_t documents = 0, tokens = 0, target_tokens = 0, rows = 0;
  int64_t documents_split = 0, documents_truncated = 0, documents_dropped = 0;
};

// Writes the file at PATH via PATH.tmp and a rename, so a reader never sees half a dataset.
Status WriteDatasetFile(const std::string& path, const DatasetMeta& meta, const std::vector<Document>& docs,
                        const PackedRows& packed);

// One packed row, as the trainer consumes it.
struct Row {
  std::vector<int32_t> input_ids, labels, position_ids, document_ids;
};

class DatasetReader {
 public:
  static Result<std::unique_ptr<DatasetReader>> Open(const std::string& path);
  const std::string& path() const { return path_; }
  const DatasetMeta& meta() const { return meta_; }
  int64_t rows() const { return meta_.rows; }
  int64_t seq_len() const { return meta_.seq_len; }
  // Reads row R (0 <= r < rows()).
  Status ReadRow(int64_t r, Row* out) const;

 private:
  std::string path_;
  DatasetMeta meta_;
  h5::File file_;
  h5::Group rows_;
};

}  // namespace egret::data
