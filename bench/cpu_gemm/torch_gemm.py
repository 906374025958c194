"""Baseline for cpu_gemm: the same shapes through torch.mm (PyTorch CPU, same threads)."""
import json, os, time
import torch

torch.set_num_threads(int(os.environ.get("EGRET_BENCH_THREADS", os.cpu_count())))
torch.manual_seed(1)
total_flop = total_s = 0.0
for m, n, k in [(1024, 256, 256), (1024, 688, 256), (1024, 256, 688), (1024, 8192, 256)]:
    a = torch.rand(m, k) * 2 - 1
    b = torch.rand(k, n) * 2 - 1
    for _ in range(3):
        torch.mm(a, b)
    iters, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.5:
        torch.mm(a, b)
        iters += 1
    s = time.perf_counter() - t0
    total_flop += 2.0 * m * n * k * iters
    total_s += s
print(json.dumps({"total_gflops": round(total_flop / total_s / 1e9, 2)}))
