"""Copy detection at scale: the copy-detection set's originals hidden among 0 to 100,000
distractor pictures (see distractor_data.py), DISC21-style: one pooled list of every
query's top hit, one threshold for all queries.

The copy set is copydet_data's (real photos, about 67 indexed originals), with five
edited copies per picture (about 500 queries, a third without an original). The index
grows as a user's does: ``selfsim index REFS DISTRACTORS --index I`` with more
distractors linked into DISTRACTORS each step (only new files are embedded). At each
size, every method searches as users run it (``selfsim search --json -k 1``).

Besides micro-AP, recall@1 and recall at precision 0.9 (with its threshold), the table
gives the **precision that the threshold fitted at 0 distractors reaches** at each size:
whether one threshold still means the same when the collection is 100 times larger.

    python benchmarks/distractors.py [--sizes 0 1000 10000] [--seed 0] [--methods default cosine verify]

With ``--adapt refs`` the encoder is first adapted to the originals alone (``selfsim train
REFS --init default``), with ``--adapt all`` to the originals plus the largest size's
distractors (what a user's folder looks like), and every size is indexed with that model.
The queries are never used in training. Arguments for ``selfsim train`` go after an equals sign:
``--adapt all --train-args=--epochs=1``.

To search a large index again without rebuilding it (100,000 pictures take about 25 min to
index): ``--sizes 100000 --keep-index --threshold default=0.142 verify=0.152`` (the thresholds to
check, from the 0-distractor rows of an earlier run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import copydet_data
import distractor_data

from selfsim.eval.metrics import PredictedMatch, copy_detection_metrics

METHODS = {
    "default": ("selfsim (default)", []),
    "cosine": ("plain cosine (same encoder, one view)", ["--no-flip", "--center-crop", "0", "--corner-crops", "0", "--raw-scores"]),
    "verify": ("selfsim --verify 20", ["--verify", "20"]),
}


def search(index: Path, queries: Path, extra: list[str]) -> tuple[dict[str, tuple[str, float]], float]:
    """Each query's top hit: query name -> (hit's real path, score); and the seconds taken."""
    t0 = time.perf_counter()
    res = subprocess.run(["selfsim", "search", "--index", str(index), str(queries), "--json", "-k", "1", "-q", *extra],
                         check=True, capture_output=True, text=True)
    top = {}
    for line in res.stdout.splitlines():
        obj = json.loads(line)
        if obj.get("hits"):
            hit = obj["hits"][0]
            top[Path(obj["query"]).name] = (os.path.realpath(hit["path"]), float(hit["score"]))
    return top, time.perf_counter() - t0


def predictions(top: dict[str, tuple[str, float]], truth: dict[str, str | None], refs: Path) -> list[PredictedMatch]:
    want = {q: None if r is None else os.path.realpath(refs / r) for q, r in truth.items()}
    return [PredictedMatch(q, s, want[q] == path) for q, (path, s) in top.items()]


def precision_at(preds: list[PredictedMatch], threshold: float | None, n_positives: int) -> tuple[float, float]:
    """The precision and recall of the top hits scoring at least ``threshold``."""
    if threshold is None:
        return float("nan"), float("nan")
    kept = [p for p in preds if p.score >= threshold]
    right = sum(p.correct for p in kept)
    return (right / len(kept) if kept else float("nan")), right / max(n_positives, 1)


def adapt(args: argparse.Namespace, refs: Path, dis: Path, pool: list[Path], out: Path) -> list[str]:
    """Train the adapted encoder (or reuse it); the ``selfsim index`` arguments that use it."""
    model = out / f"model-{args.adapt}-s{args.seed}"
    if not (args.reuse and model.exists()):
        folders = [str(refs)]
        if args.adapt == "all":
            distractor_data.link_distractors(dis, pool)
            folders.append(str(dis))
        cmd = ["selfsim", "train", *folders, "--init", "default", "--out", str(model), "--overwrite",
               "--seed", str(args.seed), *args.train_args]
        print("$", " ".join(cmd), flush=True)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"trained in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    return ["--model", str(model)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/distractors"))
    ap.add_argument("--seed", type=int, default=0, help="the copy set's split and edits, and the distractors' order")
    ap.add_argument("--copies", type=int, default=5, help="edited copies per picture (queries)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[0, 1000, 10000])
    ap.add_argument("--packages", nargs="+", default=list(distractor_data.PACKAGES), metavar="PKG",
                    help="Debian packages the distractor pictures come from (default: %(default)s); others "
                         "check an encoder on pictures unlike those it was trained on")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--index-args", nargs="*", default=[], help="extra arguments for selfsim index")
    ap.add_argument("--adapt", choices=["refs", "all"], help="index with an encoder adapted to the originals "
                    "('refs') or to the originals and the largest size's distractors ('all')")
    ap.add_argument("--train-args", nargs="*", default=[], help="extra arguments for selfsim train, after '=' (--train-args=--epochs=1)")
    ap.add_argument("--reuse", action="store_true", help="with --adapt: use the model a previous run trained")
    ap.add_argument("--keep-index", action="store_true", help="start from the index a previous run left (only "
                    "changes are indexed; sizes below its size remove pictures from it)")
    ap.add_argument("--threshold", nargs="+", default=[], metavar="METHOD=SCORE", help="the fixed threshold "
                    "to check at every size, per method (default: its precision-0.9 threshold at the smallest size)")
    args = ap.parse_args()
    out: Path = args.out
    root = out / f"set-s{args.seed}"
    cs = copydet_data.copy_set(root, seed=args.seed, copies_per_picture=args.copies)
    truth = cs.truth
    n_pos = sum(r is not None for r in truth.values())
    print(f"{len(cs.refs)} originals indexed, {len(truth)} queries ({len(truth) - n_pos} without an original)")
    sizes = sorted(args.sizes)
    pool = distractor_data.distractor_files(max(sizes), seed=args.seed, packages=tuple(args.packages))
    index = out / f"index-s{args.seed}"
    if not args.keep_index:
        shutil.rmtree(index, ignore_errors=True)  # the smallest size first: an index never shrinks here
    dis = out / f"distractors-s{args.seed}"
    rows = []
    fixed: dict[str, float | None] = {k: float(v) for k, v in (t.split("=") for t in args.threshold)}
    model_args = adapt(args, root / "refs", dis, pool[: max(sizes)], out) if args.adapt else []
    for n in sizes:
        distractor_data.link_distractors(dis, pool[:n])
        t0 = time.perf_counter()
        subprocess.run(["selfsim", "index", str(root / "refs"), str(dis), "--index", str(index), "-q",
                        *model_args, *args.index_args], check=True)
        t_index = time.perf_counter() - t0
        print(f"\n{n} distractors: index updated in {t_index:.1f} s", flush=True)
        for key in args.methods:
            name, extra = METHODS[key]
            top, t = search(index, root / "queries", extra)
            preds = predictions(top, truth, root / "refs")
            m = copy_detection_metrics(preds, n_pos, len(truth))
            if key not in fixed:
                fixed[key] = m.threshold_at_p90
            prec, rec = precision_at(preds, fixed[key], n_pos)
            rows.append((n, name, m, fixed[key], prec, rec, t / len(truth)))
            print(f"  {name}: micro-AP {m.micro_ap:.3f}, recall@1 {m.recall_at_1:.3f}, at the fixed "
                  f"threshold precision {prec:.3f}, recall {rec:.3f} ({t / len(truth):.2f} s/query)", flush=True)
    print("\n| distractors | method | micro-AP | recall@1 | recall@P90 | score at P90 | fixed threshold "
          "| precision, recall at it | s/query |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, name, m, thr, prec, rec, spq in rows:
        t90 = "-" if m.threshold_at_p90 is None else f"{m.threshold_at_p90:.3f}"
        fx = "-" if thr is None else f"{thr:.3f}"
        print(f"| {n:,} | {name} | {m.micro_ap:.3f} | {m.recall_at_1:.3f} | {m.recall_at_p90:.3f} | {t90} | {fx} "
              f"| {prec:.3f}, {rec:.3f} | {spq:.2f} |")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
