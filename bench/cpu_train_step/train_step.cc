// One full training step (forward, backward, AdamW) of the tiny Llama of bench-notes.md on
// CPU in fp32, batch 4 x seq 256. Prints one JSON object with the median step time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "mpi_trainer/model/model.h"
#include "mpi_trainer/model/rng.h"
#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/optim/adamw.h"

using namespace egret::trainer;

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 10;
  const int rows = 4, seq = 256;
  ModelConfig c;
  c.family = Family::kLlama;
  c.vocab_size = 8192;
  c.hidden_size = 256;
  c.num_layers = 4;
  c.num_heads = 8;
  c.num_kv_heads = 4;
  c.head_dim = 32;
  c.intermediate_size = 688;
  c.max_position_embeddings = 1024;
  c.rope.type = RopeType::kDefault;
  c.sliding_window.assign(c.num_layers, 0);
  if (const char* t = std::getenv("EGRET_BENCH_THREADS")) SetNumThreads(std::atoi(t));
  auto model = Model::Create(c, 1);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.error().message().c_str());
    return 1;
  }
  Rng rng(7);
  std::vector<std::vector<int32_t>> tokens(rows, std::vector<int32_t>(seq));
  for (auto& r : tokens)
    for (auto& t : r) t = static_cast<int32_t>(rng.Next() % c.vocab_size);
  auto batch = CausalBatch(tokens);
  AdamWConfig oc;
  oc.weight_decay = 0.01f;
  AdamW opt((*model)->params(), oc);
  const float scale = 1.0f / static_cast<float>(batch->CountTargets());
  std::vector<double> times;
  double loss = 0;
  for (int i = 0; i < steps + 2; ++i) {  // two warm-up steps
    auto t0 = std::chrono::steady_clock::now();
    (*model)->params().ZeroGrads();
    auto s = (*model)->ForwardBackward(*batch, scale);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.error().message().c_str());
      return 1;
    }
    opt.Step(1e-4f);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 2) times.push_back(dt);
    loss = s->loss_sum / s->targets;
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  std::printf("{\"step_s\": %.4f, \"tokens_per_s\": %.1f, \"loss\": %.4f, \"threads\": %d, \"params\": %lld}\n",
              median, rows * seq / median, loss, NumThreads(),
              static_cast<long long>((*model)->params().CountParams()));
  return 0;
}
