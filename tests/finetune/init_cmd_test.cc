// egret-train init: a randomly initialised model that egret-train itself loads, with the
// parameter count worked out by hand from the config, and clear refusals.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/finetune/support.h"
#include "tests/finetune/tiny_model.h"

namespace egret::testing {
namespace {

namespace fs = std::filesystem;

const char* kConfig = R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 260,
  "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "intermediate_size": 128, "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
  "tie_word_embeddings": false, "hidden_act": "silu", "torch_dtype": "float32"})";

ProcessResult Init(const std::string& dir, const std::string& config, const std::string& tokenizer) {
  return RunTrain({"init", dir, "--config", config, "--tokenizer", tokenizer, "--seed", "5"});
}

TEST(TrainInit, WritesAModelEgretTrainLoadsWithTheHandCountedParameters) {
  std::string dir = FreshDir("init");
  std::ofstream(dir + "/config.json") << kConfig;
  auto r = Init(dir + "/model", dir + "/config.json", ByteTokenizerDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(dir + "/model/" + f)) << f;
  auto inspect = RunTrain({"inspect", dir + "/model", "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out);
  // embed + lm_head: 2 x 260 x 64; per layer q,o 64x64, k,v 64x(2 heads x 16), gate/up/down
  // 64x128, two norms of 64; a final norm of 64.
  const int64_t per_layer = 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64;
  EXPECT_EQ(j["parameters"].get<int64_t>(), 2 * 260 * 64 + 2 * per_layer + 64);
  EXPECT_EQ(j["family"], "llama");
  EXPECT_EQ(j["num_kv_heads"], 2);
  // Same seed, same weights; another seed, others.
  auto again = Init(dir + "/again", dir + "/config.json", ByteTokenizerDir());
  auto other = RunTrain({"init", dir + "/other", "--config", dir + "/config.json", "--tokenizer", ByteTokenizerDir(),
                         "--seed", "6"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  ASSERT_EQ(other.exit_code, 0) << other.err;
  auto bytes = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(dir + "/model/model.safetensors"), bytes(dir + "/again/model.safetensors"));
  EXPECT_NE(bytes(dir + "/model/model.safetensors"), bytes(dir + "/other/model.safetensors"));
}

TEST(TrainInit, RefusesToOverwriteAModelAndNamesAMissingTokenizer) {
  std::string dir = FreshDir("init-refuse");
  std::ofstream(dir + "/config.json") << kConfig;
  ASSERT_EQ(Init(dir + "/model", dir + "/config.json", ByteTokenizerDir()).exit_code, 0);
  auto before = fs::last_write_time(dir + "/model/model.safetensors");
  auto r = Init(dir + "/model", dir + "/config.json", ByteTokenizerDir());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already holds a model"), std::string::npos) << r.err;
  EXPECT_EQ(fs::last_write_time(dir + "/model/model.safetensors"), before);
  fs::create_directories(dir + "/empty");
  r = Init(dir + "/m2", dir + "/config.json", dir + "/empty");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds no tokenizer"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/m2"));
  std::ofstream(dir + "/bad.json") << R"({"model_type": "llama", "hidden_size": 64})";
  r = Init(dir + "/m3", dir + "/bad.json", ByteTokenizerDir());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace egret::testing
