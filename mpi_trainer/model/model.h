// A decoder-only Hugging Face model (GPT-2, Llama, Mistral, Qwen2, Qwen3) on CPU in fp32:
// forward, backward, greedy generation with a KV cache, LoRA adapters.
//
// Training contract (used by fine-tuning and data parallelism):
//   model->params().ZeroGrads();
//   for each micro-batch:  auto s = model->ForwardBackward(batch, 1.0f / global_targets);
//   (all-reduce grads over ranks), optimizer step.
// ForwardBackward returns the SUM of token losses and the number of unmasked targets, and adds
// grad_scale * d(loss sum)/d(param) into the grad buffer for every trainable parameter, so the
// caller normalises by the target count of the whole global batch. Frozen parameters get no
// gradient and no work is spent on them where it can be avoided (LoRA: no base weight
// gradients; layers below the first trainable one are not back-propagated at all).
// Results are deterministic for a fixed thread count (threads.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "mpi_trainer/io/model_config.h"
#include "mpi_trainer/model/batch.h"
#include "mpi_trainer/model/lora.h"
#include "mpi_trainer/model/params.h"

namespace egret::trainer {

namespace detail {
struct Net;
struct Workspace;
}  // namespace detail

struct LossSums {
  double loss_sum = 0;  // sum of next-token NLL over unmasked targets
  int64_t targets = 0;  // number of unmasked targets
};

struct ForwardOptions {
  // Per-row loss sums and target counts (resized to batch.rows).
  std::vector<double>* row_loss_sum = nullptr;
  std::vector<int64_t>* row_targets = nullptr;
  // The first probe_k vocabulary logits at every position, [rows][seq_len][probe_k].
  int probe_k = 0;
  std::vector<float>* probe_logits = nullptr;
};

class Model {
 public:
  // Reads DIR/config.json and the safetensors weights (single file or sharded). Every
  // parameter is trainable.
  static Result<std::unique_ptr<Model>> Load(const std::string& dir);
  // A randomly initialised model as HF's _init_weights does (normal(0, init_std) weights,
  // zero biases, unit norms), for benchmarks and tests.
  static Result<std::unique_ptr<Model>> Create(const ModelConfig& config, uint64_t seed,
                                               float init_std = 0.02f);
  ~Model();
  // Parameters of a model with this config (tied embeddings counted once), without building it.
  static int64_t ParameterCount(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  ParamStore& params() { return params_; }
  const ParamStore& params() const { return params_; }

  // Loss only (and the optional outputs); no dropout, nothing kept for a backward.
  Result<LossSums> Forward(const Batch& batch, const ForwardOptions& options = {});
  // See the training contract above.
  Result<LossSums> ForwardBackward(const Batch& batch, float grad_scale,
                                   const ForwardOptions& options = {});
  // Greedy continuation of `prompt` (max_new_tokens tokens, fewer if stop_token is produced).
  Result<std::vector<int32_t>> Generate(const std::vector<int32_t>& prompt, int max_new_tokens,
                                        int32_t stop_token = -1);

  // Freezes (false) or unfreezes every non-adapter parameter.
  void SetBaseTrainable(bool trainable);

  // Adds LoRA adapters to the modules `config` selects and freezes the base. Fails if no
  // module matches or adapters are already present.
  Status AddLora(const LoraConfig& config);
  bool has_lora() const { return has_lora_; }
  const LoraConfig& lora_config() const { return lora_config_; }
  // HF module paths that carry adapters, e.g. "model.layers.0.self_attn.q_proj".
  std::vector<std::string> LoraModules() const;
  // Dropout draws are a function of (lora seed, step counter, module, element); the counter
  // advances once per ForwardBackward. Checkpoints save and restore it.
  uint64_t dropout_counter() const { return dropout_counter_; }
  void set_dropout_counter(uint64_t c) { dropout_counter_ = c; }

  // Internal structure, for the LoRA import/export code in this library.
  const detail::Net& net() const { return *net_; }

 private:
  Model();
  Status Build();  // lays out the parameters of config_
  Result<LossSums> Run(const Batch& batch, bool backward, float grad_scale,
                       const ForwardOptions& options);

  ModelConfig config_;
  ParamStore params_;
  std::unique_ptr<detail::Net> net_;
  std::unique_ptr<detail::Workspace> ws_;
  bool has_lora_ = false;
  LoraConfig lora_config_;
  uint64_t dropout_counter_ = 0;
};

}  // namespace egret::trainer
