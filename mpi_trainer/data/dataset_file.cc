#include "mpi_trainer/data/dataset_file.h"

#include <cstdio>

#include "common/fs.h"

namespace egret::data {
namespace {

// Rows are stored chunked so the trainer reads a few rows at a time without loading the file.
constexpr uint64_t kChunkRows = 64;

// Every scalar of the metadata, once, for both directions.
template <typename F>
void ForEachMeta(DatasetMeta& m, F&& f) {
  f("format_version", m.format_version);
  f("tokenizer_sha256", m.tokenizer_sha256);
  f("source_sha256", m.source_sha256);
  f("source_name", m.source_name);
  f("split", m.split);
  f("split_by", m.split_by);
  f("split_fraction", m.split_fraction);
  f("split_seed", m.split_seed);
  f("seq_len", m.seq_len);
  f("pad_id", m.pad_id);
  f("overflow", m.overflow);
  f("lines_total", m.lines_total);
  f("lines_skipped", m.lines_skipped);
  f("lines_other_split", m.lines_other_split);
  f("lines_used", m.lines_used);
  f("text_examples", m.text_examples);
  f("prompt_completion_examples", m.prompt_completion_examples);
  f("chat_examples", m.chat_examples);
  f("documents", m.documents);
  f("tokens", m.tokens);
  f("target_tokens", m.target_tokens);
  f("rows", m.rows);
  f("documents_split", m.documents_split);
  f("documents_truncated", m.documents_truncated);
  f("documents_dropped", m.documents_dropped);
}

Status WriteAll(const std::string& path, const DatasetMeta& meta_in, const std::vector<Document>& docs,
                const PackedRows& packed) {
  EGRET_ASSIGN_OR_RETURN(h5::File f, h5::File::Create(path));
  EGRET_TRY(f.SetAttr("format", kDatasetFormat));
  EGRET_TRY(f.SetAttr("format_version", kDatasetFormatVersion));

  DatasetMeta meta = meta_in;
  EGRET_ASSIGN_OR_RETURN(h5::Group mg, f.CreateGroup("meta"));
  Status st = Ok();
  ForEachMeta(meta, [&](const char* name, auto& v) {
    if (st.ok()) st = mg.SetAttr(name, v);
  });
  EGRET_TRY(st);

  std::vector<int32_t> tokens;
  std::vector<uint8_t> mask;
  std::vector<int64_t> offsets = {0}, lines;
  for (const Document& d : docs) {
    tokens.insert(tokens.end(), d.ids.begin(), d.ids.end());
    mask.insert(mask.end(), d.mask.begin(), d.mask.end());
    offsets.push_back(static_cast<int64_t>(tokens.size()));
    lines.push_back(d.source_line);
  }
  EGRET_ASSIGN_OR_RETURN(h5::Group dg, f.CreateGroup("documents"));
  EGRET_TRY(dg.Write("tokens", tokens));
  EGRET_TRY(dg.Write("loss_mask", mask));
  EGRET_TRY(dg.Write("offsets", offsets));
  EGRET_TRY(dg.Write("source_line", lines));

  EGRET_ASSIGN_OR_RETURN(h5::Group rg, f.CreateGroup("rows"));
  std::vector<uint64_t> dims = {static_cast<uint64_t>(packed.rows), static_cast<uint64_t>(packed.seq_len)};
  EGRET_TRY(rg.Write("input_ids", packed.input_ids.data(), dims, kChunkRows));
  EGRET_TRY(rg.Write("labels", packed.labels.data(), dims, kChunkRows));
  EGRET_TRY(rg.Write("position_ids", packed.position_ids.data(), dims, kChunkRows));
  EGRET_TRY(rg.Write("document_ids", packed.document_ids.data(), dims, kChunkRows));
  std::vector<int64_t> seg;
  for (const Segment& s : packed.segments) seg.insert(seg.end(), {s.row, s.start, s.length, s.document, s.doc_start});
  EGRET_TRY(rg.Write("segments", seg.data(), {packed.segments.size(), 5}));
  EGRET_TRY(f.Flush());
  return f.Close();
}

}  // namespace

Status WriteDatasetFile(const std::string& path, const DatasetMeta& meta, const std::vector<Document>& docs,
                        const PackedRows& packed) {
  std::string tmp = path + ".tmp";
  Status st = WriteAll(tmp, meta, docs, packed);
  if (!st.ok()) {
    std::remove(tmp.c_str());
    return st;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Error(path + ": cannot rename " + tmp + " into place");
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  return SyncDirectory(dir.empty() ? "/" : dir);
}

Result<std::unique_ptr<DatasetReader>> DatasetReader::Open(const std::string& path) {
  auto r = std::unique_ptr<DatasetReader>(new DatasetReader());
  r->path_ = path;
  EGRET_ASSIGN_OR_RETURN(r->file_, h5::File::Open(path));
  auto format = r->file_.StringAttr("format");
  if (!format.ok() || *format != kDatasetFormat)
    return Error(path + ": not an Egret dataset (no format=\"" + kDatasetFormat +
                 "\" attribute); create one with: egret-data import");
  EGRET_ASSIGN_OR_RETURN(int64_t version, r->file_.IntAttr("format_version"));
  if (version != kDatasetFormatVersion)
    return Error(path + ": dataset format version " + std::to_string(version) + ", this egret-train reads version " +
                 std::to_string(kDatasetFormatVersion) + "; re-import it with this egret-data");
  EGRET_ASSIGN_OR_RETURN(h5::Group mg, r->file_.OpenGroup("meta"));
  Status st = Ok();
  ForEachMeta(r->meta_, [&](const char* name, auto& v) {
    if (!st.ok()) return;
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<V, std::string>) {
      auto x = mg.StringAttr(name);
      if (x.ok()) v = *x; else st = x.error();
    } else if constexpr (std::is_same_v<V, double>) {
      auto x = mg.DoubleAttr(name);
      if (x.ok()) v = *x; else st = x.error();
    } else {
      auto x = mg.IntAttr(name);
      if (x.ok()) v = *x; else st = x.error();
    }
  });
  EGRET_TRY(st);
  EGRET_ASSIGN_OR_RETURN(r->rows_, r->file_.OpenGroup("rows"));
  for (const char* name : {"input_ids", "labels", "position_ids", "document_ids"}) {
    EGRET_ASSIGN_OR_RETURN(auto shape, r->rows_.Shape(name));
    if (shape.size() != 2 || static_cast<int64_t>(shape[0]) != r->meta_.rows ||
        static_cast<int64_t>(shape[1]) != r->meta_.seq_len)
      return Error(r->rows_.Where(name) + ": shape does not match meta rows=" + std::to_string(r->meta_.rows) +
                   " seq_len=" + std::to_string(r->meta_.seq_len));
  }
  return r;
}

Status DatasetReader::ReadRow(int64_t r, Row* out) const {
  size_t n = static_cast<size_t>(meta_.seq_len);
  out->input_ids.resize(n);
  out->labels.resize(n);
  out->position_ids.resize(n);
  out->document_ids.resize(n);
  EGRET_TRY(rows_.ReadRows("input_ids", r, 1, out->input_ids.data()));
  EGRET_TRY(rows_.ReadRows("labels", r, 1, out->labels.data()));
  EGRET_TRY(rows_.ReadRows("position_ids", r, 1, out->position_ids.data()));
  EGRET_TRY(rows_.ReadRows("document_ids", r, 1, out->document_ids.data()));
  return Ok();
}

}  // namespace egret::data
