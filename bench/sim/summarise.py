"""Runs egret-sim on contested generated traces (several seeds), prints the per-seed table of the
first seed and a table of means, and the bench/ JSON lines: Egret against the best baseline on
each headline metric, plus its worst tenant shortfall and lost work against the goals."""
import json, os, subprocess, sys

sim, emit = sys.argv[1], sys.argv[2]
seeds = [int(s) for s in os.environ.get("EGRET_SIM_SEEDS", "1 2 3 4 5 6 7 8").split()]
args = ["--generate", "--gpus", "64", "--days", "3", "--load", "1.3"]

print(subprocess.run([sim, *args, "--seed", str(seeds[0]), "--tenants"], check=True,
                     capture_output=True, text=True).stdout)
runs = [json.loads(subprocess.run([sim, *args, "--seed", str(s), "--json"], check=True,
                                  capture_output=True, text=True).stdout) for s in seeds]
names = [p["policy"] for p in runs[0]["policies"]]
keys = ["utilisation", "utilisation_contended", "jain", "wait_p50_s", "wait_p95_s",
        "bounded_slowdown_p95", "max_shortfall", "max_fit_wait_s", "preemptions", "lost_fraction",
        "never_completed"]
mean = {n: {k: sum(r["policies"][i][k] for r in runs) / len(runs) for k in keys}
        for i, n in enumerate(names)}
worst = {n: {k: max(r["policies"][i][k] for r in runs) for k in ("max_shortfall", "lost_fraction")}
         for i, n in enumerate(names)}
print("means over seeds %s (64 GPUs, 3 days, offered load 1.3):" % " ".join(map(str, seeds)))
print("%-13s %6s %9s %6s %9s %9s %8s %14s %8s %8s %6s" % ("policy", "util", "util-cont", "jain",
      "wait-p50h", "wait-p95h", "bsld-p95", "shortfall/max", "fitwaitm", "preempt", "lost%"))
for n in names:
    m = mean[n]
    print("%-13s %6.3f %9.3f %6.3f %9.2f %9.2f %8.1f %6.1f%%/%5.1f%% %8.1f %8.0f %6.2f" % (
        n, m["utilisation"], m["utilisation_contended"], m["jain"], m["wait_p50_s"] / 3600,
        m["wait_p95_s"] / 3600, m["bounded_slowdown_p95"], 100 * m["max_shortfall"],
        100 * worst[n]["max_shortfall"], m["max_fit_wait_s"] / 60, m["preemptions"],
        100 * m["lost_fraction"]))
print()
sys.stdout.flush()

base = [n for n in names if n != "egret"]
def best(key, higher):
    pick = max if higher else min
    b = pick(base, key=lambda n: mean[n][key])
    return b, mean[b][key]
note = ["seeds=%d" % len(seeds), "gpus=64", "days=3", "load=1.3"]
for key, metric, unit, higher in [("utilisation", "gpu_utilisation", "fraction", True),
                                  ("jain", "jain_index", "index", True),
                                  ("bounded_slowdown_p95", "bounded_slowdown_p95", "ratio", False)]:
    b, v = best(key, higher)
    subprocess.run([sys.executable, emit, "sim", metric, unit, str(mean["egret"][key]),
                    "best baseline (%s)" % b, str(v), "higher" if higher else "lower", *note], check=True)
# Goals: worst tenant shortfall <= 3% of capacity; lost work < 1% of capacity.
subprocess.run([sys.executable, emit, "sim", "worst_tenant_shortfall", "fraction",
                str(max(worst["egret"]["max_shortfall"], 1e-9)), "goal", "0.03", "lower", *note,
                "mean_over_seeds=%.4f" % mean["egret"]["max_shortfall"]], check=True)
subprocess.run([sys.executable, emit, "sim", "lost_work", "fraction",
                str(max(worst["egret"]["lost_fraction"], 1e-9)), "goal", "0.01", "lower", *note,
                "preemptions_mean=%.0f" % mean["egret"]["preemptions"]], check=True)
