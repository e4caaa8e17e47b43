"""Does `selfsim eval` on a folder agree with `benchmarks/copy_detection.py`?

The copy-detection benchmark's source pictures are copied into one folder (named so
that sorting keeps their order), and `selfsim eval FOLDER --json` runs on it as a user
would. The benchmark's own runs (`selfsim index` + `selfsim search` subprocesses,
pHash, ORB) score its set, which is made by the same function with the same seed.
Both tables are printed side by side, with a check that both saw the very same queries.

    python benchmarks/eval_agreement.py [--seed 0] [--out bench-out/eval-agreement]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import copy_detection
import copydet_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/eval-agreement"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    folder = copydet_data.source_folder(args.out / "sources")
    bench_set = copydet_data.copy_set(args.out / "benchmark", seed=args.seed)
    truth = bench_set.truth
    refs, queries = bench_set.refs, bench_set.queries

    bench = {}
    top, t_i, t_s = copy_detection.run_selfsim(bench_set.root, [])
    bench["search"] = (copy_detection.score(top, truth), t_i + t_s)
    top, _, t_c = copy_detection.run_selfsim(bench_set.root, ["--no-flip", "--center-crop", "0", "--corner-crops", "0", "--raw-scores"],
                                             fresh=False)
    bench["cosine"] = (copy_detection.score(top, truth), t_c)
    top, _, t_v = copy_detection.run_selfsim(bench_set.root, ["--verify", "20"], fresh=False)
    bench["verified"] = (copy_detection.score(top, truth), t_v)
    top, t_p = copy_detection.run_phash(refs, queries)
    bench["phash"] = (copy_detection.score(top, truth), t_p)
    top, t_o = copy_detection.run_orb(refs, queries)
    bench["orb"] = (copy_detection.score(top, truth), t_o)

    work = args.out / "eval-work"
    t0 = time.perf_counter()
    res = subprocess.run(["selfsim", "eval", str(folder), "--json", "-q", "--seed", str(args.seed),
                          "--max-pictures", "100000", "--work", str(work)],
                         check=True, capture_output=True, text=True)
    t_eval = time.perf_counter() - t0
    rows = {r["method"]: r for r in json.loads(res.stdout)["methods"]}
    saved = json.loads((work / "copyset" / "copyset.json").read_text())
    same = saved["truth"] == truth and saved["edits"] == copydet_data.edits_of(bench_set.root) and all(
        (work / "copyset" / "queries" / q).read_bytes() == (bench_set.root / "queries" / q).read_bytes()
        for q in truth)

    print(f"{len(refs)} references, {len(queries)} queries; the same queries in both: {'yes' if same else 'NO'}")
    print(f"selfsim eval took {t_eval:.0f} s in all\n")
    print("| method | copy_detection.py micro-AP | selfsim eval micro-AP | recall@1 (bench / eval) "
          "| recall@P90 (bench / eval) | score at P90 (bench / eval) |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in ("phash", "orb", "search", "cosine", "verified"):
        m, _ = bench[key]
        e = rows[key]
        t90 = "-" if m.threshold_at_p90 is None else f"{m.threshold_at_p90:.3f}"
        e90 = "-" if e["threshold_at_p90"] is None else f"{e['threshold_at_p90']:.3f}"
        print(f"| {e['name']} | {m.micro_ap:.3f} | {e['micro_ap']:.3f} | {m.recall_at_1:.3f} / {e['recall_at_1']:.3f} "
              f"| {m.recall_at_p90:.3f} / {e['recall_at_p90']:.3f} | {t90} / {e90} |")


if __name__ == "__main__":
    main()
