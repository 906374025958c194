#!/usr/bin/env python3
"""Writes the demo tenants' datasets (deterministic; the committed files are its output).

acme:   continue the alphabet    "next: klmno =" -> "pqrs"
globex: count down in digits     "down: 9 8 7 =" -> "6 5 4"   (wrapping 0 -> 9)

Each tenant gets train.jsonl (prompt/completion, for egret-data import) and qa.jsonl
(held-out prompt/answer pairs, for exact match). The held-out prompts never occur in train.
"""
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent


def acme(start, n, k):
    a = "abcdefghijklmnopqrstuvwxyz"
    seq = "".join(a[(start + i) % 26] for i in range(n + k))
    return f"next: {seq[:n]} =", " " + seq[n:]


def globex(start, n, k):
    seq = [str((start - i) % 10) for i in range(n + k)]
    return "down: " + " ".join(seq[:n]) + " =", " " + " ".join(seq[n:])


def write(tenant, make, starts, lengths, k, n_eval, seed):
    rng = random.Random(seed)
    cases = [(s, n) for s in starts for n in lengths]
    rng.shuffle(cases)
    held, train = cases[:n_eval], cases[n_eval:]
    d = HERE / tenant
    d.mkdir(exist_ok=True)
    with open(d / "train.jsonl", "w") as f:
        for s, n in train:
            p, c = make(s, n, k)
            f.write(json.dumps({"prompt": p, "completion": c}) + "\n")
    with open(d / "qa.jsonl", "w") as f:
        for s, n in held:
            p, c = make(s, n, k)
            f.write(json.dumps({"prompt": p, "answer": c.strip()}) + "\n")


write("acme", acme, range(26), range(3, 9), 4, 16, 1)
write("globex", globex, range(10), range(3, 9), 3, 12, 2)


def base_corpus(seed):
    """What the demo's base model is pre-trained on before any tenant sees it: runs of the
    alphabet and of digits, up and down, as plain text (no tenant's prompt format)."""
    rng = random.Random(seed)
    a = "abcdefghijklmnopqrstuvwxyz"
    with open(HERE / "base.jsonl", "w") as f:
        for _ in range(600):
            n, s = rng.randint(4, 14), rng.randrange(26)
            kind = rng.randrange(4)
            if kind == 0:
                text = "".join(a[(s + i) % 26] for i in range(n))
            elif kind == 1:
                text = "".join(a[(s - i) % 26] for i in range(n))
            elif kind == 2:
                text = " ".join(str((s + i) % 10) for i in range(n))
            else:
                text = " ".join(str((s - i) % 10) for i in range(n))
            f.write(json.dumps({"text": text}) + "\n")


base_corpus(3)
