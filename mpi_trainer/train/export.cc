#include "mpi_trainer/train/export.h"

#include <filesystem>

#include "common/fs.h"
#include "mpi_trainer/model/lora.h"

namespace egret::train {
namespace fs = std::filesystem;
namespace {

// Writes into OUT.tmp with WRITE, then swaps it in for OUT, so OUT is always whole.
template <typename F>
Status ReplaceDir(const std::string& out, F&& write) {
  std::string tmp = out + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Error(tmp + ": cannot create: " + ec.message());
  EGRET_TRY(write(tmp));
  fs::remove_all(out, ec);
  fs::rename(tmp, out, ec);
  if (ec) return Error(out + ": cannot move " + tmp + " into place: " + ec.message());
  return SyncDirectory(fs::path(out).parent_path().string());
}

}  // namespace

Status CopyTokenizerFiles(const std::string& from, const std::string& to) {
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                        "generation_config.json", "vocab.json", "merges.txt", "encoder.json", "vocab.bpe"}) {
    std::error_code ec;
    if (!fs::exists(fs::path(from) / f)) continue;
    fs::copy_file(fs::path(from) / f, fs::path(to) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return Error(std::string(f) + ": cannot copy into " + to + ": " + ec.message());
  }
  return Ok();
}

Status ExportPeft(const trainer::Model& model, const std::string& base_model_dir, const std::string& out_dir) {
  if (!model.has_lora()) return Error("the model has no LoRA adapter to export (train.mode = \"full\"?)");
  return ReplaceDir(out_dir, [&](const std::string& dir) { return trainer::SavePeftAdapter(model, dir, base_model_dir); });
}

Status ExportMerged(const trainer::Model& model, const std::string& base_model_dir, const std::string& out_dir) {
  return ReplaceDir(out_dir, [&](const std::string& dir) -> Status {
    EGRET_TRY(trainer::SaveMergedModel(model, dir));
    return CopyTokenizerFiles(base_model_dir, dir);
  });
}

Result<std::string> ExportResult(const trainer::Model& model, const JobConfig& c) {
  std::string dir = (fs::path(c.output_dir) / (c.mode == Mode::kLora ? "adapter" : "model")).string();
  if (c.mode == Mode::kLora) EGRET_TRY(ExportPeft(model, c.model_path, dir));
  else EGRET_TRY(ExportMerged(model, c.model_path, dir));
  return dir;
}

}  // namespace egret::train
