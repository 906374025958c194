"""Prints one benchmark result line in the bench/ JSON convention.

usage: emit.py BENCH METRIC UNIT VALUE BASELINE_NAME BASELINE_VALUE [higher|lower] [key=value ...]
ratio = value / baseline_value when higher is better, baseline_value / value when lower is,
so a ratio above 1 always means Egret is ahead. Extra key=value pairs go into "notes".
"""
import json, os, sys

bench, metric, unit, value, baseline, baseline_value = sys.argv[1:7]
better = sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] in ("higher", "lower") else "higher"
extra = sys.argv[8:] if len(sys.argv) > 7 and sys.argv[7] in ("higher", "lower") else sys.argv[7:]
value, baseline_value = float(value), float(baseline_value)
ratio = value / baseline_value if better == "higher" else baseline_value / value
notes = dict(kv.split("=", 1) for kv in extra)
for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"):
    if os.environ.get(var):
        notes[var] = os.environ[var]
notes["cores"] = os.cpu_count()
print(json.dumps({"bench": bench, "metric": metric, "value": round(value, 4), "unit": unit,
                  "baseline": baseline, "baseline_value": round(baseline_value, 4),
                  "ratio": round(ratio, 4), "better": better, "notes": notes}))
