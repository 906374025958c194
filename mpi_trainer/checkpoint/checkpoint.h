// Training checkpoints in HDF5 (layout in checkpoint/README.md). Rank 0 writes
// step-NNNNNNNN.h5 through a temporary file, fsyncs it, renames it into place, fsyncs the
// directory and only then writes step-NNNNNNNN.done (size and SHA-256 of the file): a
// checkpoint without its marker, or whose bytes do not match it, is never used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::ckpt {

constexpr int64_t kCheckpointFormatVersion = 1;
constexpr const char* kCheckpointFormat = "egret-checkpoint";

// What a checkpoint belongs to. Resuming requires every field equal.
struct Identity {
  std::string model_fingerprint;  // ModelFingerprint() of the base model directory
  std::string model_path;         // for messages only
  std::string mode;               // lora | full
  nlohmann::json trajectory;      // train::TrajectorySettings (flat key -> value)
  std::vector<std::string> datasets;  // dataset fingerprints, in job order
};

// Everything besides tensors that a run needs to continue exactly.
struct State {
  int64_t step = 0;           // optimizer steps done
  int64_t total_steps = 0;
  int64_t rows_consumed = 0;  // the data cursor: stream position of the next global batch
  int64_t tokens_seen = 0;    // target tokens trained on so far
  int64_t adam_step = 0;
  uint64_t data_order_seed = 0;
  int64_t data_order_epoch = 0;
  uint64_t dropout_seed = 0;  // LoRA dropout masks are a function of (seed, counter, ...)
  uint64_t dropout_counter = 0;
  double last_lr = 0, last_loss = 0;
};

struct TensorRef {
  std::string name;
  std::vector<int64_t> shape;
  float* data = nullptr;  // read: filled in place; write: read from
};

struct TensorGroups {
  std::vector<TensorRef> params, adam_m, adam_v;
};

// A fingerprint of a Hugging Face model directory: SHA-256 over config.json and every
// *.safetensors file (whole up to 1 GiB; beyond, its header and 64 evenly spread 64 KiB
// windows, so a large model is not read in full at every start).
Result<std::string> ModelFingerprint(const std::string& model_dir);

std::string CheckpointName(int64_t step);  // "step-00000100.h5"

// Writes the checkpoint for state.step into DIR (created if needed) and keeps the newest
// KEEP_LAST complete ones. Returns the checkpoint's path.
Result<std::string> Write(const std::string& dir, const Identity& id, const State& state, const TensorGroups& t,
                          int64_t keep_last);

// The newest complete checkpoint in DIR ("" when there is none). Files without a marker
// (an interrupted write) are ignored.
Result<std::string> FindLatest(const std::string& dir);
// Every complete checkpoint in DIR, oldest first.
Result<std::vector<std::string>> ListComplete(const std::string& dir);

// Verifies PATH against its marker (size, SHA-256), its format, and EXPECTED; then reads the
// state and fills every tensor in T (names and shapes must match exactly; an empty group is
// not read). With SAME_RUN false only the model and mode must match (evaluation, export).
// Errors name the file and what does not match.
Result<State> Read(const std::string& path, const Identity& expected, const TensorGroups& t, bool same_run = true);

}  // namespace egret::ckpt
