"""Adaptation: the default encoder vs the same encoder adapted to the reference pictures.

Builds the copy-detection set (copydet_data.py), then, as a user would:

    selfsim train REFS --init default --out MODEL      # unlabeled; the queries are never seen
    selfsim index REFS --index I --model MODEL
    selfsim search --index I QUERIES --json -k 5

and the same index/search with the un-adapted default encoder, in the same run.
Both are scored with selfsim's normalised scores and with plain cosine (one view).

    python benchmarks/adaptation.py [--seed 0] [-- extra selfsim train options]
    python benchmarks/adaptation.py --reuse     # score OUT/model again, after a change to search
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import copydet_data
from copy_detection import run_selfsim, score

PLAIN = ["--no-flip", "--center-crop", "0", "--corner-crops", "0", "--raw-scores"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/adapt"))
    ap.add_argument("--seed", type=int, default=0, help="which split and edits to draw")
    ap.add_argument("--reuse", action="store_true",
                    help="score the model already trained in OUT/model (after a change to search) instead of training")
    ap.add_argument("train_args", nargs=argparse.REMAINDER, help="passed to `selfsim train` after --")
    args = ap.parse_args()
    truth = copydet_data.build(args.out, seed=args.seed)
    refs = sorted((args.out / "refs").iterdir())
    n_q = len(truth)
    print(f"{len(refs)} references (the training folder), {n_q} queries "
          f"({sum(v is None for v in truth.values())} with no original in the index)\n")

    rows, tops = [], []
    for label, model, minutes in [("default encoder", None, None), ("adapted", args.out / "model", 0.0)]:
        extra_index: list[str] = []
        if model is not None and args.reuse:
            print(f"scoring the model trained earlier in {model} (--reuse)", flush=True)
            minutes = None
            extra_index = ["--model", str(model)]
        elif model is not None:
            extra = [a for a in args.train_args if a != "--"]
            cmd = ["selfsim", "train", str(args.out / "refs"), "--init", "default", "--out", str(model), "-q", *extra]
            print("train: " + " ".join(cmd), flush=True)
            t0 = time.perf_counter()
            subprocess.run(["rm", "-rf", str(model)], check=True)
            subprocess.run(cmd, check=True)
            minutes = (time.perf_counter() - t0) / 60
            extra_index = ["--model", str(model)]
        top, _, _ = run_selfsim(args.out, [], extra_index=extra_index)
        raw, _, _ = run_selfsim(args.out, PLAIN, fresh=False)
        rows.append((label, score(top, truth), score(raw, truth), minutes))
        tops += [(f"{label}", top), (f"{label}, plain cosine", raw)]

    print("\n| encoder | micro-AP | recall@1 | micro-AP, plain cosine | recall@1, plain cosine | training (2-core CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, m, r, minutes in rows:
        t = "-" if minutes is None else f"{minutes:.1f} min"
        print(f"| {label} | {m.micro_ap:.3f} | {m.recall_at_1:.3f} | {r.micro_ap:.3f} | {r.recall_at_1:.3f} | {t} |")

    edits = copydet_data.edits_of(args.out)
    per: dict[str, list[list[bool]]] = defaultdict(lambda: [[] for _ in tops])
    for q, ref in truth.items():
        if ref is not None:
            for i, (_, top) in enumerate(tops):
                per["chain" if "+" in edits[q] else edits[q]][i].append(top[q][0] == ref)
    print("\nrecall@1 per edit:\n")
    print("| edit | n | " + " | ".join(name for name, _ in tops) + " |")
    print("|---|---:|" + "---:|" * len(tops))
    for kind in sorted(per):
        print(f"| {kind} | {len(per[kind][0])} | " + " | ".join(f"{np.mean(v):.2f}" for v in per[kind]) + " |")


if __name__ == "__main__":
    main()
