"""PyTorch CPU baseline for bench/finetune: the same training step egret-train runs on the
same files (make_job.py): HF's Llama (hf_reference.py re-implementation, eager, fp32), HF's
shifted cross-entropy over the micro-batch, torch.nn.utils.clip_grad_norm_(1.0) and
torch.optim.AdamW; for LoRA, PEFT's LoRA layer (r 16, alpha 32, dropout 0.05, the same target
modules) on the frozen base. Prints the median step time over STEPS steps after 2 warm-up ones.
usage: torch_finetune.py DIR lora|full STEPS"""
import json, os, sys, time

import h5py
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "reference", "models"))
import hf_reference as ref  # noqa: E402
from make_job import CONFIG, LORA_TARGETS  # noqa: E402


def main():
    d, mode, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    threads = int(os.environ.get("EGRET_BENCH_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    model = ref.build(CONFIG)
    state = ref.read_safetensors(d + "/model/model.safetensors")
    model.load_state_dict(state, strict=False)
    if mode == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        ref.add_lora(model, LORA_TARGETS, 16, 32, 0.05)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    model.train()
    rows = torch.from_numpy(h5py.File(d + "/train.h5")["rows/input_ids"][:].astype("int64"))
    times = []
    for i in range(steps + 2):
        ids = rows[(4 * i) % len(rows):(4 * i) % len(rows) + 4]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"step_s": median, "tokens_per_s": 4 * 256 / median, "threads": threads,
                      "trainable": sum(p.numel() for p in params), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
