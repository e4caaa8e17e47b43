"""Copy detection on real photos: selfsim vs pHash vs ORB+RANSAC, in one run.

Builds the query set (see copydet_data.py), then runs selfsim exactly as users do,
`selfsim index REFS --index I` and `selfsim search --index I QUERIES --json -k 5`,
and scores the classical baselines on the same files.

    python benchmarks/copy_detection.py [--out bench-out/copydet] [--seed 0] [--skip-orb] [--milvus-lite]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import copydet_data

from selfsim.data.reader import read_image
from selfsim.eval.baselines import OrbRansac, phash_bits, phash_similarity
from selfsim.eval.metrics import CopyDetectionMetrics, PredictedMatch, copy_detection_metrics


def run_selfsim(
    out: Path, extra: list[str], fresh: bool = True, extra_index: list[str] | None = None, milvus: bool = False
) -> tuple[dict[str, tuple[str, float]], float, float]:
    """``milvus``: the index in a Milvus Lite file instead of a folder."""
    index: Path | str = out / "index"
    t0 = time.perf_counter()
    if milvus:
        index = f"milvus-lite://{(out / 'index.db').absolute()}"
    if fresh:
        subprocess.run(["rm", "-rf", str(out / ("index.db" if milvus else "index"))], check=True)
        subprocess.run(["selfsim", "index", str(out / "refs"), "--index", str(index), "-q", *(extra_index or [])],
                       check=True)
    t1 = time.perf_counter()
    res = subprocess.run(
        ["selfsim", "search", "--index", str(index), str(out / "queries"), "--json", "-k", "5", "-q", *extra],
        check=True, capture_output=True, text=True,
    )
    t2 = time.perf_counter()
    top = {}
    for line in res.stdout.splitlines():
        obj = json.loads(line)
        hit = obj["hits"][0]
        top[Path(obj["query"]).name] = (Path(hit["path"]).name, float(hit["score"]))
    return top, t1 - t0, t2 - t1


def run_phash(refs: list[Path], queries: list[Path]) -> tuple[dict[str, tuple[str, float]], float]:
    t0 = time.perf_counter()
    hb = np.stack([phash_bits(read_image(p)) for p in refs])
    hq = np.stack([phash_bits(read_image(p)) for p in queries])
    S = phash_similarity(hq, hb)
    top = {q.name: (refs[int(S[i].argmax())].name, float(S[i].max())) for i, q in enumerate(queries)}
    return top, time.perf_counter() - t0


def run_orb(refs: list[Path], queries: list[Path]) -> tuple[dict[str, tuple[str, float]], float]:
    t0 = time.perf_counter()
    orb = OrbRansac()
    fb = [orb.features(read_image(p)) for p in refs]
    top = {}
    for q in queries:
        fq = orb.features(read_image(q))
        scores = [orb.inliers(fq, f) for f in fb]
        j = int(np.argmax(scores))
        top[q.name] = (refs[j].name, float(scores[j]))
    return top, time.perf_counter() - t0


def score(top: dict[str, tuple[str, float]], truth: dict[str, str | None]) -> CopyDetectionMetrics:
    preds = [PredictedMatch(q, s, truth[q] == r) for q, (r, s) in top.items()]
    return copy_detection_metrics(preds, sum(v is not None for v in truth.values()), len(truth))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/copydet"))
    ap.add_argument("--seed", type=int, default=0, help="which split and edits to draw")
    ap.add_argument("--skip-orb", action="store_true", help="leave out the slow ORB baseline")
    ap.add_argument("--milvus-lite", action="store_true",
                    help="also index and search through a Milvus Lite index (pip install '.[milvus]')")
    args = ap.parse_args()
    truth = copydet_data.build(args.out, seed=args.seed)
    edits = copydet_data.edits_of(args.out)
    refs = sorted((args.out / "refs").iterdir())
    queries = sorted((args.out / "queries").iterdir())
    n_dis = sum(v is None for v in truth.values())
    print(f"{len(refs)} references, {len(queries)} queries ({n_dis} with no original in the index)\n")

    rows = []
    top_s, t_index, t_search = run_selfsim(args.out, [])
    rows.append(("selfsim (default encoder)", score(top_s, truth), f"index {t_index:.1f}s, search {t_search:.1f}s"))
    n_q = len(queries)
    top_v, _, t_v = run_selfsim(args.out, ["--verify", "20"], fresh=False)
    rows.append(("selfsim --verify 20 (first run: caches reference features)", score(top_v, truth),
                 f"search {t_v:.1f}s = {t_v / n_q:.2f} s/query"))
    top_v2, _, t_v2 = run_selfsim(args.out, ["--verify", "20"], fresh=False)
    rows.append(("selfsim --verify 20 (features cached)", score(top_v2, truth),
                 f"search {t_v2:.1f}s = {t_v2 / n_q:.2f} s/query"))
    milvus_tops = []
    if args.milvus_lite:
        top_m, t_mi, t_ms = run_selfsim(args.out, [], milvus=True)
        rows.append(("selfsim, Milvus Lite index", score(top_m, truth), f"index {t_mi:.1f}s, search {t_ms:.1f}s"))
        top_mv, _, t_mv = run_selfsim(args.out, ["--verify", "20"], fresh=False, milvus=True)
        rows.append(("selfsim --verify 20, Milvus Lite index (first run: caches reference features)", score(top_mv, truth),
                     f"search {t_mv:.1f}s = {t_mv / n_q:.2f} s/query"))
        milvus_tops = [top_m, top_mv]
    raw, _, t_raw = run_selfsim(args.out, ["--no-flip", "--center-crop", "0", "--corner-crops", "0", "--raw-scores"], fresh=False)
    rows.append(("plain cosine (same encoder, one view)", score(raw, truth), f"search {t_raw:.1f}s"))
    top_p, t_p = run_phash(refs, queries)
    rows.append(("pHash (imagehash)", score(top_p, truth), f"{t_p:.1f}s"))
    if not args.skip_orb:
        top_o, t_o = run_orb(refs, queries)
        rows.append(("ORB + RANSAC (OpenCV)", score(top_o, truth), f"{t_o:.1f}s"))

    print("| method | micro-AP | recall@1 | recall@P90 | score at P90 | time |")
    print("|---|---:|---:|---:|---:|---|")
    for name, m, t in rows:
        t90 = "-" if m.threshold_at_p90 is None else f"{m.threshold_at_p90:.3f}"
        print(f"| {name} | {m.micro_ap:.3f} | {m.recall_at_1:.3f} | {m.recall_at_p90:.3f} | {t90} | {t} |")

    print("\nrecall@1 per edit (queries with an original in the index):\n")
    per: dict[str, list[list[bool]]] = defaultdict(lambda: [[] for _ in rows])
    tops = [top_s, top_v, top_v2, *milvus_tops, raw, top_p] + ([top_o] if not args.skip_orb else [])
    for q, ref in truth.items():
        if ref is None:
            continue
        kind = "chain" if "+" in edits[q] else edits[q]
        for i, top in enumerate(tops):
            per[kind][i].append(top[q][0] == ref)
    print("| edit | n | " + " | ".join(name for name, _, _ in rows) + " |")
    print("|---|---:|" + "---:|" * len(rows))
    for kind in sorted(per):
        cells = " | ".join(f"{np.mean(v):.2f}" for v in per[kind])
        print(f"| {kind} | {len(per[kind][0])} | {cells} |")


if __name__ == "__main__":
    main()
