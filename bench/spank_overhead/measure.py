"""Per-step launch latency with and without egret.so, in one allocation, in one run.

Runs as root on a cluster that is up with egret.so in its plugstack and egret-quotad running.
Submits one job as USER that holds an allocation, then times `srun -n1 true` steps run by
USER inside it, alternating between the plugstack with egret.so and one without (srun and
slurmstepd read plugstack.conf afresh for every step, so both run on the same allocation,
node and moment). Also times `sbatch --hold` submissions both ways (the submit-side check).
Prints one JSON object with the medians.
"""
import json, os, re, shutil, statistics, subprocess, sys, time

conf = "/etc/slurm/plugstack.conf.d/egret.conf"
user = os.environ.get("BENCH_USER", "alice")
tenant = os.environ.get("BENCH_TENANT", "acme")
partition = os.environ.get("BENCH_PARTITION", "gpu")
gres = os.environ.get("BENCH_GRES", "gpu:1")
steps = int(os.environ.get("BENCH_STEPS", "60"))
submits = int(os.environ.get("BENCH_SUBMITS", "20"))
workdir = os.environ["BENCH_DIR"]

with open(conf) as f:
    with_egret = f.read()
without_egret = "# egret.so left out for the baseline\n"


def use(text):
    tmp = conf + ".bench"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, conf)


def as_user(argv, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(["runuser", "-u", user, "--"] + argv, capture_output=True, text=True,
                          env=e, cwd=workdir)


def timed(argv, env=None):
    t0 = time.perf_counter()
    r = as_user(argv, env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"measure: {' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return dt * 1000.0


def wait_running(job, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True,
                             text=True).stdout.strip()
        if out == "RUNNING":
            return
        time.sleep(0.2)
    sys.exit(f"measure: job {job} not running after {timeout} s")


try:
    use(with_egret)
    args = ["sbatch", "-A", tenant, "-p", partition, "-o", "/dev/null", "--wrap", "sleep 600"]
    if gres:
        args[1:1] = ["--gres", gres]
    r = as_user(args)
    m = re.search(r"Submitted batch job (\d+)", r.stdout)
    if not m:
        sys.exit(f"measure: sbatch failed: {r.stderr.strip()}")
    job = m.group(1)
    wait_running(job)
    step_env = {"SLURM_JOB_ID": job}
    step = ["srun", "--overlap", "-n1", "-N1", "true"]
    for _ in range(3):  # warm caches both ways
        use(with_egret); timed(step, step_env)
        use(without_egret); timed(step, step_env)
    # Adjacent pairs, in alternating order: the difference within a pair cancels the drift
    # of a machine shared with other work; the median of the differences is the overhead.
    w, wo = [], []
    for i in range(steps):
        order = [(with_egret, w), (without_egret, wo)]
        if i % 2:
            order.reverse()
        for text, sink in order:
            use(text)
            sink.append(timed(step, step_env))

    sw, swo, held = [], [], []
    sub = ["sbatch", "--hold", "-A", tenant, "-p", "cpu", "-o", "/dev/null", "--wrap", "true"]
    for i in range(submits):
        order = [(with_egret, sw), (without_egret, swo)]
        if i % 2:
            order.reverse()
        for text, sink in order:
            use(text)
            t0 = time.perf_counter()
            r = as_user(sub)
            sink.append((time.perf_counter() - t0) * 1000.0)
            m = re.search(r"Submitted batch job (\d+)", r.stdout)
            if not m:
                sys.exit(f"measure: sbatch --hold failed: {r.stderr.strip()}")
            held.append(m.group(1))
    subprocess.run(["scancel", job] + held)
finally:
    use(with_egret)

print(json.dumps({
    "steps": steps, "step_ms_with": statistics.median(w), "step_ms_without": statistics.median(wo),
    "step_overhead_ms": statistics.median([a - b for a, b in zip(w, wo)]),
    "submit_overhead_ms": statistics.median([a - b for a, b in zip(sw, swo)]),
    "step_p90_with": sorted(w)[int(0.9 * (len(w) - 1))],
    "step_p90_without": sorted(wo)[int(0.9 * (len(wo) - 1))],
    "submits": submits, "submit_ms_with": statistics.median(sw),
    "submit_ms_without": statistics.median(swo),
}))
