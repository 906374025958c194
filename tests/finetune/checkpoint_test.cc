// Checkpoint files: a round trip is bit-exact, only complete checkpoints count, the newest K
// are kept, and every kind of bad checkpoint is refused with a message naming the file and
// what does not match.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/fs.h"
#include "mpi_trainer/checkpoint/checkpoint.h"

namespace egret::ckpt {
namespace {
namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("egret-ckpt-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

struct Fixture {
  std::vector<float> a = std::vector<float>(6), b = std::vector<float>(4), ma = std::vector<float>(6),
                     mb = std::vector<float>(4), va = std::vector<float>(6), vb = std::vector<float>(4);
  Identity id;
  State state;
  explicit Fixture(float seed) {
    for (size_t i = 0; i < 6; ++i) a[i] = seed + 0.1f * static_cast<float>(i), ma[i] = -a[i], va[i] = a[i] * a[i];
    for (size_t i = 0; i < 4; ++i) b[i] = seed * 3 + 1e-7f * static_cast<float>(i), mb[i] = b[i] / 7, vb[i] = 1e-30f;
    id.model_fingerprint = "f1f2f3f4f5f6f7f8";
    id.model_path = "/models/tiny";
    id.mode = "lora";
    id.trajectory = {{"optimizer.lr", 0.001}, {"train.seed", 3}, {"lora.r", 4}};
    id.datasets = {"d1"};
    state.step = 10;
    state.total_steps = 100;
    state.rows_consumed = 80;
    state.tokens_seen = 1234;
    state.adam_step = 10;
    state.data_order_seed = 0xfedcba9876543210ULL;  // above INT64_MAX: stored as a bit pattern
    state.data_order_epoch = 2;
    state.dropout_seed = 3;
    state.dropout_counter = 40;
    state.last_lr = 1e-3;
    state.last_loss = 2.5;
  }
  TensorGroups Tensors() {
    TensorGroups t;
    t.params = {{"model.layers.0.q.lora_A.weight", {2, 3}, a.data()}, {"model.layers.0.q.lora_B.weight", {4, 1}, b.data()}};
    t.adam_m = {{"model.layers.0.q.lora_A.weight", {2, 3}, ma.data()}, {"model.layers.0.q.lora_B.weight", {4, 1}, mb.data()}};
    t.adam_v = {{"model.layers.0.q.lora_A.weight", {2, 3}, va.data()}, {"model.layers.0.q.lora_B.weight", {4, 1}, vb.data()}};
    return t;
  }
};

std::string ReadError(const std::string& path, Fixture& want) {
  auto r = Read(path, want.id, want.Tensors());
  return r.ok() ? "accepted" : r.error().message();
}

TEST(Checkpoint, RoundTripIsBitExact) {
  std::string dir = TempDir("roundtrip");
  Fixture saved(1.5f);
  auto path = Write(dir, saved.id, saved.state, saved.Tensors(), 3);
  ASSERT_TRUE(path.ok()) << path.error().message();
  EXPECT_EQ(*path, dir + "/step-00000010.h5");
  EXPECT_TRUE(fs::exists(dir + "/step-00000010.done"));

  Fixture loaded(0.0f);
  loaded.id = saved.id;
  auto s = Read(*path, loaded.id, loaded.Tensors());
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(loaded.a, saved.a);
  EXPECT_EQ(loaded.b, saved.b);
  EXPECT_EQ(loaded.ma, saved.ma);
  EXPECT_EQ(loaded.vb, saved.vb);
  EXPECT_EQ(s->step, 10);
  EXPECT_EQ(s->rows_consumed, 80);
  EXPECT_EQ(s->tokens_seen, 1234);
  EXPECT_EQ(s->data_order_seed, 0xfedcba9876543210ULL);
  EXPECT_EQ(s->data_order_epoch, 2);
  EXPECT_EQ(s->dropout_counter, 40u);
  EXPECT_EQ(s->last_loss, 2.5);
}

TEST(Checkpoint, KeepsTheNewestCompleteOnes) {
  std::string dir = TempDir("keep");
  Fixture f(1.0f);
  for (int64_t step : {5, 10, 15, 20}) {
    f.state.step = step;
    ASSERT_TRUE(Write(dir, f.id, f.state, f.Tensors(), 2).ok());
  }
  auto all = ListComplete(dir);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{dir + "/step-00000015.h5", dir + "/step-00000020.h5"}));
  EXPECT_FALSE(fs::exists(dir + "/step-00000005.h5"));
  EXPECT_FALSE(fs::exists(dir + "/step-00000010.done"));

  // An interrupted write (file without marker) is not a checkpoint, even if newer.
  fs::copy_file(dir + "/step-00000020.h5", dir + "/step-00000025.h5");
  EXPECT_EQ(*FindLatest(dir), dir + "/step-00000020.h5");
  EXPECT_EQ(ReadError(dir + "/step-00000025.h5", f),
            dir + "/step-00000025.h5: no completion marker step-00000025.done: the write did not finish, so this is "
                  "not a checkpoint");
  EXPECT_EQ(*FindLatest(TempDir("empty")), "");
}

TEST(Checkpoint, RefusesTruncatedAndCorruptFiles) {
  std::string dir = TempDir("bad");
  Fixture f(2.0f);
  std::string path = *Write(dir, f.id, f.state, f.Tensors(), 5);
  auto size = fs::file_size(path);

  fs::copy_file(path, dir + "/copy.h5");
  {
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(size - 40));
    io.put('\x5a');
  }
  EXPECT_EQ(ReadError(path, f).rfind(path + ": corrupt: its SHA-256 (", 0), 0u) << ReadError(path, f);

  fs::copy_file(dir + "/copy.h5", path, fs::copy_options::overwrite_existing);
  fs::resize_file(path, size / 2);
  EXPECT_EQ(ReadError(path, f), path + ": truncated or altered: " + std::to_string(size / 2) +
                                    " bytes, its marker says " + std::to_string(size));

  ASSERT_TRUE(WriteFileAtomic(dir + "/step-00000010.done", "garbage").ok());
  EXPECT_EQ(ReadError(path, f),
            dir + "/step-00000010.done: not a checkpoint marker (expected JSON with step, bytes, sha256)");
}

TEST(Checkpoint, RefusesForeignCheckpoints) {
  std::string dir = TempDir("foreign");
  Fixture f(3.0f);
  std::string path = *Write(dir, f.id, f.state, f.Tensors(), 5);

  Fixture other_model = f;
  other_model.id.model_fingerprint = "0a0b0c0d0e0f1011";
  other_model.id.model_path = "/models/other";
  EXPECT_EQ(ReadError(path, other_model),
            path + ": checkpoint is for another model: written for /models/tiny (fingerprint f1f2f3f4f5f6), this job "
                   "uses /models/other (fingerprint 0a0b0c0d0e0f)");

  Fixture other_mode = f;
  other_mode.id.mode = "full";
  EXPECT_EQ(ReadError(path, other_mode),
            path + ": checkpoint was written by a lora run; this job is train.mode = \"full\"");

  Fixture other_config = f;
  other_config.id.trajectory["optimizer.lr"] = 0.002;
  other_config.id.trajectory.erase("lora.r");
  EXPECT_EQ(ReadError(path, other_config),
            path + ": checkpoint was written with other training settings: optimizer.lr = 0.001 in the checkpoint, "
                   "0.002 in this job; lora.r = 4 in the checkpoint, absent in this job (resume with the original "
                   "settings, or start a new run in another output.dir)");

  Fixture other_data = f;
  other_data.id.datasets = {"d2"};
  EXPECT_EQ(ReadError(path, other_data),
            path + ": checkpoint was trained on other data (dataset fingerprints [\"d1\"], this job [\"d2\"])");

  // Same identity, different LoRA layout: the tensors say so.
  Fixture other_shape = f;
  TensorGroups t = other_shape.Tensors();
  t.params[0].shape = {3, 2};
  auto r = Read(path, other_shape.id, t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            path + ": /params/model.layers.0.q.lora_A.weight has shape [2, 3], this job expects [3, 2]");
  t = other_shape.Tensors();
  t.params.pop_back();
  r = Read(path, other_shape.id, t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), path + ": /params holds tensors this job does not train: "
                                        "model.layers.0.q.lora_B.weight (the checkpoint is from a different model or "
                                        "LoRA layout)");
  EXPECT_EQ(ReadError(dir + "/nope.h5", f), dir + "/nope.h5: no such checkpoint");
}

}  // namespace
}  // namespace egret::ckpt
