#include "mpi_trainer/checkpoint/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

#include "common/fs.h"
#include "common/strings.h"
#include "mpi_trainer/data/sha256.h"
#include "mpi_trainer/h5/h5.h"

namespace egret::ckpt {
namespace fs = std::filesystem;

namespace {

std::string MarkerPath(const std::string& path) {
  return path.substr(0, path.size() - 3) + ".done";  // step-N.h5 -> step-N.done
}

std::string ShapeText(const std::vector<int64_t>& s) {
  std::vector<std::string> parts;
  for (int64_t d : s) parts.push_back(std::to_string(d));
  return "[" + Join(parts, ", ") + "]";
}

Status FsyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(path + ": cannot open to fsync: " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Error(path + ": fsync failed: " + std::strerror(errno));
  return Ok();
}

Status WriteTensors(h5::Group& g, const std::vector<TensorRef>& ts) {
  for (const TensorRef& t : ts) {
    if (t.name.find('/') != std::string::npos) return Error("tensor name '" + t.name + "' contains '/'");
    std::vector<uint64_t> dims(t.shape.begin(), t.shape.end());
    EGRET_TRY(g.Write(t.name, t.data, dims));
  }
  return Ok();
}

Status ReadTensors(const std::string& path, const h5::File& f, const std::string& group,
                   const std::vector<TensorRef>& ts) {
  if (ts.empty()) return Ok();
  EGRET_ASSIGN_OR_RETURN(h5::Group g, f.OpenGroup(group));
  EGRET_ASSIGN_OR_RETURN(auto stored, g.Children());
  if (stored.size() != ts.size()) {
    std::vector<std::string> extra;
    for (const auto& s : stored)
      if (std::none_of(ts.begin(), ts.end(), [&](const TensorRef& t) { return t.name == s; })) extra.push_back(s);
    if (!extra.empty())
      return Error(path + ": /" + group + " holds tensors this job does not train: " + Join(extra, ", ") +
                   " (the checkpoint is from a different model or LoRA layout)");
  }
  for (const TensorRef& t : ts) {
    if (!g.Has(t.name))
      return Error(path + ": /" + group + " has no tensor " + t.name +
                   " (the checkpoint is from a different model or LoRA layout)");
    EGRET_ASSIGN_OR_RETURN(auto shape, g.Shape(t.name));
    if (std::vector<int64_t>(shape.begin(), shape.end()) != t.shape)
      return Error(path + ": /" + group + "/" + t.name + " has shape " +
                   ShapeText(std::vector<int64_t>(shape.begin(), shape.end())) + ", this job expects " +
                   ShapeText(t.shape));
    EGRET_ASSIGN_OR_RETURN(auto data, g.Read<float>(t.name));
    std::copy(data.begin(), data.end(), t.data);
  }
  return Ok();
}

Status WriteFile(const std::string& path, const Identity& id, const State& s, const TensorGroups& t) {
  EGRET_ASSIGN_OR_RETURN(h5::File f, h5::File::Create(path));
  EGRET_TRY(f.SetAttr("format", kCheckpointFormat));
  EGRET_TRY(f.SetAttr("format_version", kCheckpointFormatVersion));
  EGRET_TRY(f.SetAttr("created_unix", static_cast<int64_t>(std::time(nullptr))));
  {
    EGRET_ASSIGN_OR_RETURN(h5::Group g, f.CreateGroup("identity"));
    EGRET_TRY(g.SetAttr("model_fingerprint", id.model_fingerprint));
    EGRET_TRY(g.SetAttr("model_path", id.model_path));
    EGRET_TRY(g.SetAttr("mode", id.mode));
    EGRET_TRY(g.SetAttr("trajectory", id.trajectory.dump()));
    EGRET_TRY(g.SetAttr("datasets", nlohmann::json(id.datasets).dump()));
  }
  {
    EGRET_ASSIGN_OR_RETURN(h5::Group g, f.CreateGroup("state"));
    EGRET_TRY(g.SetAttr("step", s.step));
    EGRET_TRY(g.SetAttr("total_steps", s.total_steps));
    EGRET_TRY(g.SetAttr("rows_consumed", s.rows_consumed));
    EGRET_TRY(g.SetAttr("tokens_seen", s.tokens_seen));
    EGRET_TRY(g.SetAttr("adam_step", s.adam_step));
    EGRET_TRY(g.SetAttr("last_lr", s.last_lr));
    EGRET_TRY(g.SetAttr("last_loss", s.last_loss));
  }
  {
    EGRET_ASSIGN_OR_RETURN(h5::Group g, f.CreateGroup("rng"));
    // Stored as int64 bit patterns (HDF5 attributes here are signed).
    EGRET_TRY(g.SetAttr("data_order_seed", static_cast<int64_t>(s.data_order_seed)));
    EGRET_TRY(g.SetAttr("data_order_epoch", s.data_order_epoch));
    EGRET_TRY(g.SetAttr("dropout_seed", static_cast<int64_t>(s.dropout_seed)));
    EGRET_TRY(g.SetAttr("dropout_counter", static_cast<int64_t>(s.dropout_counter)));
  }
  for (auto [name, list] : {std::pair{"params", &t.params}, {"adam_m", &t.adam_m}, {"adam_v", &t.adam_v}}) {
    EGRET_ASSIGN_OR_RETURN(h5::Group g, f.CreateGroup(name));
    EGRET_TRY(WriteTensors(g, *list));
  }
  EGRET_TRY(f.Flush());
  return f.Close();
}

struct Marker {
  int64_t step = 0, bytes = 0;
  std::string sha256;
};

Result<Marker> ReadMarker(const std::string& path) {
  std::string mp = MarkerPath(path);
  if (!fs::exists(mp))
    return Error(path + ": no completion marker " + fs::path(mp).filename().string() +
                 ": the write did not finish, so this is not a checkpoint");
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(mp));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("bytes") || !j.contains("sha256") || !j.contains("step"))
    return Error(mp + ": not a checkpoint marker (expected JSON with step, bytes, sha256)");
  return Marker{j["step"].get<int64_t>(), j["bytes"].get<int64_t>(), j["sha256"].get<std::string>()};
}

Result<int64_t> StepOf(const std::string& filename) {
  static const std::regex kName(R"(step-(\d{8,})\.h5)");
  std::smatch m;
  if (!std::regex_match(filename, m, kName)) return Error("not a checkpoint name");
  return std::stoll(m[1]);
}

std::string Short(const std::string& fp) { return fp.substr(0, 12); }

std::string ValueText(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Status CheckIdentity(const std::string& path, const h5::File& f, const Identity& want, bool same_run) {
  EGRET_ASSIGN_OR_RETURN(h5::Group g, f.OpenGroup("identity"));
  EGRET_ASSIGN_OR_RETURN(std::string fp, g.StringAttr("model_fingerprint"));
  EGRET_ASSIGN_OR_RETURN(std::string model_path, g.StringAttr("model_path"));
  if (fp != want.model_fingerprint)
    return Error(path + ": checkpoint is for another model: written for " + model_path + " (fingerprint " + Short(fp) +
                 "), this job uses " + want.model_path + " (fingerprint " + Short(want.model_fingerprint) + ")");
  EGRET_ASSIGN_OR_RETURN(std::string mode, g.StringAttr("mode"));
  if (mode != want.mode)
    return Error(path + ": checkpoint was written by a " + mode + " run; this job is train.mode = \"" + want.mode + "\"");
  if (!same_run) return Ok();
  EGRET_ASSIGN_OR_RETURN(std::string traj_text, g.StringAttr("trajectory"));
  auto traj = nlohmann::json::parse(traj_text, nullptr, false);
  if (traj.is_discarded() || !traj.is_object()) return Error(path + ": /identity trajectory is not JSON");
  std::vector<std::string> diffs;
  for (auto& [k, v] : want.trajectory.items()) {
    if (!traj.contains(k)) diffs.push_back(k + " = " + ValueText(v) + " in this job, absent in the checkpoint");
    else if (traj[k] != v)
      diffs.push_back(k + " = " + ValueText(traj[k]) + " in the checkpoint, " + ValueText(v) + " in this job");
  }
  for (auto& [k, v] : traj.items())
    if (!want.trajectory.contains(k)) diffs.push_back(k + " = " + ValueText(v) + " in the checkpoint, absent in this job");
  if (!diffs.empty())
    return Error(path + ": checkpoint was written with other training settings: " + Join(diffs, "; ") +
                 " (resume with the original settings, or start a new run in another output.dir)");
  EGRET_ASSIGN_OR_RETURN(std::string ds_text, g.StringAttr("datasets"));
  auto ds = nlohmann::json::parse(ds_text, nullptr, false);
  if (ds.is_discarded() || ds != nlohmann::json(want.datasets))
    return Error(path + ": checkpoint was trained on other data (dataset fingerprints " + ds_text + ", this job " +
                 nlohmann::json(want.datasets).dump() + ")");
  return Ok();
}

}  // namespace

std::string CheckpointName(int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "step-%08lld.h5", static_cast<long long>(step));
  return buf;
}

Result<std::string> ModelFingerprint(const std::string& model_dir) {
  // Whole files up to 1 GiB; larger ones by header and 64 evenly spread 64 KiB windows, so
  // starting a job on a large model does not mean reading all of it.
  constexpr uint64_t kFullLimit = uint64_t{1} << 30, kWindow = 64 << 10, kWindows = 64;
  data::Sha256 h;
  EGRET_ASSIGN_OR_RETURN(std::string config, ReadFile(model_dir + "/config.json"));
  h.Update(config);
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(model_dir, ec))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  if (ec) return Error(model_dir + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    uint64_t size = fs::file_size(path, ec);
    if (ec) return Error(path + ": " + ec.message());
    h.Update(fs::path(path).filename().string() + "\n" + std::to_string(size) + "\n");
    if (size <= kFullLimit) {
      EGRET_ASSIGN_OR_RETURN(std::string sha, data::Sha256File(path));
      h.Update(sha);
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    uint64_t header_len = 0;
    in.read(reinterpret_cast<char*>(&header_len), 8);
    if (!in || header_len > (uint64_t{100} << 20) || header_len + 8 > size) return Error(path + ": not a safetensors file");
    std::string buf(header_len + 8, '\0');
    in.seekg(0);
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.Update(buf);
    for (uint64_t w = 0; w < kWindows; ++w) {
      uint64_t at = (size - kWindow) / (kWindows - 1) * w;
      buf.assign(kWindow, '\0');
      in.seekg(static_cast<std::streamoff>(at));
      in.read(buf.data(), static_cast<std::streamsize>(kWindow));
      h.Update(buf.data(), static_cast<size_t>(in.gcount()));
    }
    if (!in) return Error(path + ": read error while fingerprinting");
  }
  return h.Hex();
}

Result<std::vector<std::string>> ListComplete(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::exists(dir)) return std::vector<std::string>{};
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto step = StepOf(e.path().filename().string());
    if (!step.ok()) continue;
    if (fs::exists(MarkerPath(e.path().string()))) found.emplace_back(*step, e.path().string());
  }
  if (ec) return Error(dir + ": cannot list: " + ec.message());
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [s, p] : found) out.push_back(p);
  return out;
}

Result<std::string> FindLatest(const std::string& dir) {
  EGRET_ASSIGN_OR_RETURN(auto all, ListComplete(dir));
  return all.empty() ? std::string() : all.back();
}

Result<std::string> Write(const std::string& dir, const Identity& id, const State& state, const TensorGroups& t,
                          int64_t keep_last) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(dir + ": cannot create checkpoint directory: " + ec.message());
  std::string final_path = (fs::path(dir) / CheckpointName(state.step)).string();
  std::string tmp = (fs::path(dir) / ("." + CheckpointName(state.step) + ".tmp")).string();
  // A marker from an earlier write of this step would vouch for the old bytes: remove it first.
  fs::remove(MarkerPath(final_path), ec);
  Status st = WriteFile(tmp, id, state, t);
  if (!st.ok()) {
    fs::remove(tmp, ec);
    return st.error().context(tmp);
  }
  EGRET_TRY(FsyncFile(tmp));
  EGRET_ASSIGN_OR_RETURN(std::string sha, data::Sha256File(tmp));
  int64_t bytes = static_cast<int64_t>(fs::file_size(tmp));
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0)
    return Error(final_path + ": cannot rename " + tmp + " into place: " + std::strerror(errno));
  EGRET_TRY(SyncDirectory(dir));
  nlohmann::json marker = {{"file", CheckpointName(state.step)}, {"step", state.step}, {"bytes", bytes}, {"sha256", sha}};
  EGRET_TRY(WriteFileAtomic(MarkerPath(final_path), marker.dump() + "\n"));

  // Keep the newest keep_last; drop leftovers of interrupted writes older than this one.
  EGRET_ASSIGN_OR_RETURN(auto complete, ListComplete(dir));
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < complete.size(); ++i) {
    fs::remove(MarkerPath(complete[i]), ec);  // marker first: a half-deleted one is never "complete"
    fs::remove(complete[i], ec);
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    auto step = StepOf(name);
    if (step.ok() && *step < state.step && !fs::exists(MarkerPath(e.path().string()))) fs::remove(e.path(), ec);
    if (name.size() > 4 && name[0] == '.' && name.substr(name.size() - 4) == ".tmp") fs::remove(e.path(), ec);
  }
  return final_path;
}

Result<State> Read(const std::string& path, const Identity& expected, const TensorGroups& t, bool same_run) {
  if (!fs::exists(path)) return Error(path + ": no such checkpoint");
  EGRET_ASSIGN_OR_RETURN(Marker marker, ReadMarker(path));
  int64_t bytes = static_cast<int64_t>(fs::file_size(path));
  if (bytes != marker.bytes)
    return Error(path + ": truncated or altered: " + std::to_string(bytes) + " bytes, its marker says " +
                 std::to_string(marker.bytes));
  EGRET_ASSIGN_OR_RETURN(std::string sha, data::Sha256File(path));
  if (sha != marker.sha256)
    return Error(path + ": corrupt: its SHA-256 (" + Short(sha) + "...) does not match its marker (" +
                 Short(marker.sha256) + "...)");
  EGRET_ASSIGN_OR_RETURN(h5::File f, h5::File::Open(path));
  auto format = f.StringAttr("format");
  if (!format.ok() || *format != kCheckpointFormat) return Error(path + ": not an Egret checkpoint");
  EGRET_ASSIGN_OR_RETURN(int64_t version, f.IntAttr("format_version"));
  if (version != kCheckpointFormatVersion)
    return Error(path + ": checkpoint format version " + std::to_string(version) + ", this egret-train reads " +
                 std::to_string(kCheckpointFormatVersion));
  EGRET_TRY(CheckIdentity(path, f, expected, same_run));

  State s;
  EGRET_ASSIGN_OR_RETURN(h5::Group sg, f.OpenGroup("state"));
  EGRET_ASSIGN_OR_RETURN(s.step, sg.IntAttr("step"));
  EGRET_ASSIGN_OR_RETURN(s.total_steps, sg.IntAttr("total_steps"));
  EGRET_ASSIGN_OR_RETURN(s.rows_consumed, sg.IntAttr("rows_consumed"));
  EGRET_ASSIGN_OR_RETURN(s.tokens_seen, sg.IntAttr("tokens_seen"));
  EGRET_ASSIGN_OR_RETURN(s.adam_step, sg.IntAttr("adam_step"));
  EGRET_ASSIGN_OR_RETURN(s.last_lr, sg.DoubleAttr("last_lr"));
  EGRET_ASSIGN_OR_RETURN(s.last_loss, sg.DoubleAttr("last_loss"));
  EGRET_ASSIGN_OR_RETURN(h5::Group rg, f.OpenGroup("rng"));
  EGRET_ASSIGN_OR_RETURN(int64_t dseed, rg.IntAttr("data_order_seed"));
  EGRET_ASSIGN_OR_RETURN(s.data_order_epoch, rg.IntAttr("data_order_epoch"));
  EGRET_ASSIGN_OR_RETURN(int64_t pseed, rg.IntAttr("dropout_seed"));
  EGRET_ASSIGN_OR_RETURN(int64_t pcount, rg.IntAttr("dropout_counter"));
  s.data_order_seed = static_cast<uint64_t>(dseed);
  s.dropout_seed = static_cast<uint64_t>(pseed);
  s.dropout_counter = static_cast<uint64_t>(pcount);
  if (s.step != marker.step)
    return Error(path + ": holds step " + std::to_string(s.step) + " but its marker says step " + std::to_string(marker.step));
  EGRET_TRY(ReadTensors(path, f, "params", t.params));
  EGRET_TRY(ReadTensors(path, f, "adam_m", t.adam_m));
  EGRET_TRY(ReadTensors(path, f, "adam_v", t.adam_v));
  return s;
}

}  // namespace egret::ckpt
