"""Writes a few MB of mixed text, one document per line: the repository's own sources and
docs (code), and the unicode test corpus (prose in many scripts, digits, emoji, whitespace)."""
import json, os, random, sys

root, out, target = sys.argv[1], sys.argv[2], int(float(sys.argv[3]) * 1e6)
random.seed(1)
code = []
for d, _, files in sorted(os.walk(root)):
    if "/build" in d or "/.git" in d or "node_modules" in d or "fixtures" in d:
        continue
    for f in sorted(files):
        if f.endswith((".cc", ".h", ".md", ".py", ".sh", ".txt", ".toml", ".mjs")):
            with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                code.append(fh.read())
corpus = json.load(open(os.path.join(root, "tests/fixtures/tokenizers/corpus.json")))["texts"]
docs, size = [], 0
while size < target:
    if random.random() < 0.5:
        src = random.choice(code)
        i = random.randrange(max(1, len(src) - 2000))
        doc = src[i:i + random.randint(200, 3000)]
    else:
        doc = " ".join(random.choice(corpus) + f" {random.randint(0, 10**random.randint(1, 9))}"
                       for _ in range(random.randint(5, 60)))
    doc = doc.replace("\r", " ").replace("\n", "\\n ")  # one document per line
    docs.append(doc)
    size += len(doc.encode())
open(out, "w").write("\n".join(docs) + "\n")
