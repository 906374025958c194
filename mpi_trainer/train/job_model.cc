#include "mpi_trainer/train/job_model.h"

#include <algorithm>
#include <filesystem>

#include "common/fs.h"
#include "mpi_trainer/data/encoder_hf.h"
#include "mpi_trainer/data/sha256.h"
#include "mpi_trainer/model/lora.h"

namespace egret::train {
namespace fs = std::filesystem;

trainer::LoraConfig ModelLoraConfig(const JobConfig& c) {
  trainer::LoraConfig l;
  l.r = static_cast<int>(c.lora.r);
  l.alpha = c.lora.alpha;
  l.dropout = c.lora.dropout;
  l.target_modules = c.lora.target_modules;
  l.target_regex = c.lora.target_regex;
  l.seed = static_cast<uint64_t>(c.seed);
  return l;
}

Result<std::unique_ptr<trainer::Model>> BuildJobModel(const JobConfig& c) {
  EGRET_ASSIGN_OR_RETURN(auto model, trainer::Model::Load(c.model_path));
  if (c.mode == Mode::kFull) {
    model->SetBaseTrainable(true);
    return model;
  }
  if (!c.adapter_path.empty()) {
    EGRET_TRY(trainer::LoadPeftAdapter(*model, c.adapter_path));
  } else {
    auto st = model->AddLora(ModelLoraConfig(c));
    if (!st.ok()) return st.error().context(c.source + ": lora.target_modules");
  }
  return model;
}

Status CheckDatasetForModel(const data::DatasetReader& ds, const trainer::Model& model, const std::string& model_dir) {
  const auto& cfg = model.config();
  if (cfg.gpt2() && ds.seq_len() > cfg.max_position_embeddings)
    return Error(ds.path() + ": rows of " + std::to_string(ds.seq_len()) + " tokens exceed the model's " +
                 std::to_string(cfg.max_position_embeddings) +
                 " positions (n_positions); re-import with --seq-len " + std::to_string(cfg.max_position_embeddings));
  EGRET_ASSIGN_OR_RETURN(std::string tok, data::TokenizerFingerprint(model_dir));
  if (!tok.empty() && tok != ds.meta().tokenizer_sha256)
    return Error(ds.path() + ": was tokenized with another tokenizer (fingerprint " +
                 ds.meta().tokenizer_sha256.substr(0, 12) + ", the model's is " + tok.substr(0, 12) +
                 "); re-import it with: egret-data import --tokenizer " + model_dir);
  return Ok();
}

Result<JobData> OpenJobData(const std::vector<std::string>& paths, const trainer::Model& model,
                            const std::string& model_dir) {
  JobData d;
  for (const auto& p : paths) {
    EGRET_ASSIGN_OR_RETURN(auto ds, data::DatasetReader::Open(p));
    EGRET_TRY(CheckDatasetForModel(*ds, model, model_dir));
    if (d.sets.empty()) d.seq_len = ds->seq_len();
    if (ds->seq_len() != d.seq_len)
      return Error(p + ": rows of " + std::to_string(ds->seq_len()) + " tokens, but " + paths.front() + " has " +
                   std::to_string(d.seq_len) + "; all datasets of a job must share --seq-len");
    if (!d.sets.empty() && ds->meta().tokenizer_sha256 != d.sets.front()->meta().tokenizer_sha256)
      return Error(p + ": tokenized with another tokenizer than " + paths.front());
    if (ds->rows() == 0) return Error(p + ": has no rows");
    const auto& m = ds->meta();
    d.fingerprints.push_back(data::Sha256Hex(m.source_sha256 + "|" + m.tokenizer_sha256 + "|" + m.split + "|" +
                                             std::to_string(m.seq_len) + "|" + std::to_string(m.rows)));
    d.first_row.push_back(d.rows);
    d.rows += ds->rows();
    d.sets.push_back(std::move(ds));
  }
  return d;
}

Status JobData::ReadRow(int64_t r, data::Row* out) const {
  size_t i = static_cast<size_t>(std::upper_bound(first_row.begin(), first_row.end(), r) - first_row.begin()) - 1;
  return sets[i]->ReadRow(r - first_row[i], out);
}

trainer::Batch MakeBatch(const std::vector<data::Row>& rows) {
  trainer::Batch b;
  b.rows = static_cast<int>(rows.size());
  b.seq_len = rows.empty() ? 0 : static_cast<int>(rows.front().input_ids.size());
  size_t L = static_cast<size_t>(b.seq_len);
  for (const auto& r : rows) {
    b.tokens.insert(b.tokens.end(), r.input_ids.begin(), r.input_ids.end());
    b.positions.insert(b.positions.end(), r.position_ids.begin(), r.position_ids.end());
    for (size_t t = 0; t < L; ++t) b.labels.push_back(t + 1 < L ? r.labels[t + 1] : trainer::kIgnore);
    // A new segment starts where the document changes or positions restart.
    int32_t seg = 0;
    for (size_t t = 0; t < L; ++t) {
      if (t > 0 && (r.document_ids[t] != r.document_ids[t - 1] || r.position_ids[t] == 0)) ++seg;
      b.doc_ids.push_back(seg);
    }
  }
  return b;
}

ckpt::TensorGroups TrainableTensors(trainer::Model& model, trainer::AdamW& opt) {
  ckpt::TensorGroups g;
  auto& ps = model.params();
  // AdamW covers exactly the trainable parameters, in parameter order.
  for (int i = 0; i < opt.size(); ++i) {
    const auto& info = ps.info(opt.param_index(i));
    g.params.push_back({info.name, info.shape, ps.value(opt.param_index(i))});
    g.adam_m.push_back({info.name, info.shape, opt.m(i)});
    g.adam_v.push_back({info.name, info.shape, opt.v(i)});
  }
  return g;
}

Result<std::string> JobModelFingerprint(const JobConfig& c) {
  EGRET_ASSIGN_OR_RETURN(std::string fp, ckpt::ModelFingerprint(c.model_path));
  if (c.adapter_path.empty()) return fp;
  data::Sha256 h;
  h.Update(fp);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"}) {
    EGRET_ASSIGN_OR_RETURN(std::string s, data::Sha256File(c.adapter_path + "/" + f));
    h.Update(s);
  }
  return h.Hex();
}

Result<std::string> LoadCheckpointWeights(const JobConfig& c, trainer::Model& model, const std::string& path_in) {
  std::string path = path_in;
  if (path == "auto") {
    EGRET_ASSIGN_OR_RETURN(path, ckpt::FindLatest(c.checkpoint.dir));
    if (path.empty()) return Error(c.checkpoint.dir + ": no complete checkpoint");
  }
  ckpt::Identity id;
  EGRET_ASSIGN_OR_RETURN(id.model_fingerprint, JobModelFingerprint(c));
  id.model_path = c.model_path;
  id.mode = ModeName(c.mode);
  ckpt::TensorGroups t;
  auto& ps = model.params();
  for (int i = 0; i < ps.count(); ++i)
    if (ps.info(i).trainable) t.params.push_back({ps.info(i).name, ps.info(i).shape, ps.value(i)});
  auto read = ckpt::Read(path, id, t, /*same_run=*/false);
  if (!read.ok()) return read.error();
  return path;
}

}  // namespace egret::train
