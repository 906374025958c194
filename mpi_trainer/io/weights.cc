#include "mpi_trainer/io/weights.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace egret::trainer::io {

namespace fs = std::filesystem;

namespace {
std::string Quote(const std::string& s) { return "\"" + s + "\""; }
}  // namespace

Result<WeightSource> WeightSource::OpenFile(const std::string& path) {
  WeightSource w;
  EGRET_ASSIGN_OR_RETURN(auto f, SafetensorsFile::Open(path));
  for (const auto& t : f->tensors()) w.entries_[t.name] = Entry{f.get(), &t};
  w.description_ = path;
  w.files_.push_back(std::move(f));
  return w;
}

Result<WeightSource> WeightSource::Open(const std::string& dir) {
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(single, ec)) return OpenFile(single.string());
  if (!fs::exists(index, ec)) {
    std::string hint;
    if (fs::exists(fs::path(dir) / "pytorch_model.bin", ec))
      hint = " (pytorch_model.bin is not read: save the model with safe_serialization=True)";
    return Error(dir + ": no model.safetensors or model.safetensors.index.json" + hint);
  }
  const std::string ipath = index.string();
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(ipath));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error(ipath + ": not a JSON object");
  auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object() || wm->empty())
    return Error(ipath + ": missing \"weight_map\" object {tensor name: shard file}");
  WeightSource w;
  std::map<std::string, SafetensorsFile*> shards;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string())
      return Error(ipath + ": weight_map " + Quote(it.key()) + " must name a shard file");
    const std::string shard = it->get<std::string>();
    // Shards live beside the index: a path out of the directory is refused.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      return Error(ipath + ": weight_map " + Quote(it.key()) + ": shard " + Quote(shard) +
                   " must be a file name in the model directory");
    if (!shards.count(shard)) {
      EGRET_ASSIGN_OR_RETURN(auto f, SafetensorsFile::Open((fs::path(dir) / shard).string()));
      shards[shard] = f.get();
      w.files_.push_back(std::move(f));
    }
    const SafetensorsFile* f = shards[shard];
    const TensorInfo* t = f->Find(it.key());
    if (!t)
      return Error(ipath + ": tensor " + Quote(it.key()) + " is mapped to " + shard +
                   ", which does not contain it");
    w.entries_[it.key()] = Entry{f, t};
  }
  w.description_ = ipath + " (" + std::to_string(shards.size()) + " shards)";
  return w;
}

const WeightSource::Entry* WeightSource::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::map<std::string, int> WeightSource::DTypeCounts() const {
  std::map<std::string, int> counts;
  for (const auto& [name, e] : entries_) ++counts[DTypeName(e.info->dtype)];
  return counts;
}

}  // namespace egret::trainer::io
