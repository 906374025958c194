#include "tests/finetune/tiny_model.h"

#include <unistd.h>

#include <filesystem>

#include "mpi_trainer/io/model_config.h"
#include "mpi_trainer/model/lora.h"
#include "mpi_trainer/model/model.h"

namespace egret::testing {
namespace fs = std::filesystem;

std::string ByteTokenizerDir() { return std::string(EGRET_SOURCE_DIR) + "/tests/fixtures/finetune/byte-tokenizer"; }

std::string FreshDir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("egret-ft-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

Status WriteTinyModel(const std::string& dir, const std::string& family, uint64_t seed) {
  std::string json;
  if (family == "llama") {
    json = R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 260,
      "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
      "intermediate_size": 64, "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
      "tie_word_embeddings": false, "hidden_act": "silu", "torch_dtype": "float32"})";
  } else if (family == "gpt2") {
    json = R"({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 260, "n_embd": 32,
      "n_layer": 2, "n_head": 4, "n_positions": 128, "n_inner": null, "activation_function": "gelu_new",
      "layer_norm_epsilon": 1e-5, "torch_dtype": "float32"})";
  } else {
    return Error("WriteTinyModel: unknown family " + family);
  }
  EGRET_ASSIGN_OR_RETURN(auto config, trainer::ParseModelConfig(json, "tiny config.json"));
  EGRET_ASSIGN_OR_RETURN(auto model, trainer::Model::Create(config, seed, 0.2f));
  fs::create_directories(dir);
  EGRET_TRY(trainer::SaveMergedModel(*model, dir));
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(fs::path(ByteTokenizerDir()) / f, fs::path(dir) / f, fs::copy_options::overwrite_existing);
  return Ok();
}

}  // namespace egret::testing
