"""Time and peak memory of the near-duplicate candidate graph (`selfsim.dedup.graph`)
on synthetic 1280-d unit vectors of low intrinsic dimension, as embeddings are,
with 1 % planted near copies (cosine about 0.97); each size runs in its own process.
"Resident before" is the process with its imports and the vectors; "peak during" the
highest resident memory while the graph is built (Linux's VmHWM, reset just before).

    python benchmarks/dedup_scale.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

CHILD = """
import json, sys, time
import numpy as np
from selfsim.dedup.graph import neighbour_graph

n, d = int(sys.argv[1]), 1280
rng = np.random.default_rng(0)
copies = n // 100
base = n - copies
x = np.empty((n, d), np.float32)
basis = rng.standard_normal((64, d)).astype(np.float32)
for s in range(0, base, 20000):
    m = min(20000, base - s)
    x[s:s + m] = rng.standard_normal((m, 64)).astype(np.float32) @ basis + 0.5 * rng.standard_normal((m, d)).astype(np.float32)
originals = rng.choice(base, size=copies, replace=False)
x[base:] = x[originals] / np.linalg.norm(x[originals], axis=1, keepdims=True) + 0.25 * rng.standard_normal((copies, d)).astype(np.float32) / np.sqrt(d)
x /= np.linalg.norm(x, axis=1, keepdims=True)
ids = np.arange(n, dtype=np.int64)
def resident_gb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 2**20
before = resident_gb("VmRSS:")  # the vectors themselves, and the imports
open("/proc/self/clear_refs", "w").write("5")  # restart the peak count (VmHWM) here
start = time.perf_counter()
edges = neighbour_graph(ids, x, k=10, min_similarity=0.9)
seconds = time.perf_counter() - start
found = set(zip(edges.a.tolist(), edges.b.tolist()))
recall = np.mean([(min(o, base + i), max(o, base + i)) in found for i, o in enumerate(originals.tolist())])
peak = resident_gb("VmHWM:")
print(json.dumps({"n": n, "seconds": seconds, "before_gb": before, "peak_gb": peak, "edges": len(edges),
                  "recall": float(recall)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPU cores, {platform.machine()}; k=10, min similarity 0.9")
    print(f"{'vectors':>9} {'graph time':>11} {'resident before':>16} {'peak during':>12} {'edges':>8} "
          f"{'planted pairs found':>20}")
    for n in args.sizes:
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True)
        if out.returncode:
            print(f"{n:>9} failed after {time.perf_counter() - t:.0f}s: {out.stderr.strip().splitlines()[-1]}")
            continue
        r = json.loads(out.stdout)
        print(f"{n:>9} {r['seconds']:>10.1f}s {r['before_gb']:>13.2f} GB {r['peak_gb']:>9.2f} GB {r['edges']:>8} "
              f"{r['recall']:>20.3f}")


if __name__ == "__main__":
    main()
