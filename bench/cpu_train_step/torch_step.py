"""Baseline for cpu_train_step: the same tiny Llama training step in PyTorch CPU (eager, fp32):
the model is tests/reference/models/hf_reference.py's re-implementation of HF's Llama, the loss
HF's shifted cross-entropy, the optimizer torch.optim.AdamW. Prints the median step time."""
import json, os, sys, time
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "reference", "models"))
import hf_reference as ref  # noqa: E402

threads = int(os.environ.get("EGRET_BENCH_THREADS", os.cpu_count()))
torch.set_num_threads(threads)
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
cfg = {"model_type": "llama", "vocab_size": 8192, "hidden_size": 256, "num_hidden_layers": 4,
       "num_attention_heads": 8, "num_key_value_heads": 4, "intermediate_size": 688,
       "max_position_embeddings": 1024, "tie_word_embeddings": False}
torch.manual_seed(1)
model = ref.build(cfg)
model.init_weights(torch.Generator().manual_seed(1))
model.train()
ids = torch.randint(0, 8192, (4, 256), generator=torch.Generator().manual_seed(7))
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
times = []
for i in range(steps + 2):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    logits = model(ids)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 8192), ids[:, 1:].reshape(-1))
    loss.backward()
    opt.step()
    dt = time.perf_counter() - t0
    if i >= 2:
        times.append(dt)
times.sort()
median = times[len(times) // 2]
print(json.dumps({"step_s": round(median, 4), "tokens_per_s": round(4 * 256 / median, 1),
                  "loss": round(loss.item(), 4), "threads": threads, "torch": torch.__version__}))
