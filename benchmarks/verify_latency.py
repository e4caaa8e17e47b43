"""Latency of one verified query against a 100-image index, in a long-lived process.

Index: the copy-detection references plus large wallpaper photos, 100 images, with
local features detected at index time (`selfsim index --local-features`). Then 20
queries from the copy-detection set are searched one at a time with `--verify 20`
through the Python API (model and index loaded once, as a server would).

    python benchmarks/verify_latency.py   (run copy_detection.py and ingest_speed.py first)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from selfsim.index import Index
from selfsim.models import load_encoder
from selfsim.search import Searcher, Verifier


def main() -> None:
    refs = sorted(Path("bench-out/copydet/refs").iterdir())
    extra = sorted(Path("bench-out/ingest/photos").iterdir())
    folder = Path(tempfile.mkdtemp()) / "hundred"
    folder.mkdir()
    for f in (refs + extra)[:100]:
        shutil.copy(f, folder / f.name)
    index_dir = folder.parent / "idx"
    subprocess.run(["selfsim", "index", str(folder), "--index", str(index_dir), "--local-features", "-q"], check=True)
    queries = sorted(Path("bench-out/copydet/queries").iterdir())[:20]
    encoder = load_encoder("default")
    with Index.open(index_dir) as index:
        searcher = Searcher(index, encoder, verifier=Verifier(index), verify_top=20)
        list(searcher.search_paths(queries[:1], k=5))  # warm-up
        times = []
        for q in queries:
            t0 = time.perf_counter()
            list(searcher.search_paths([q], k=5))
            times.append(time.perf_counter() - t0)
        plain = Searcher(index, encoder)
        t_plain = []
        for q in queries:
            t0 = time.perf_counter()
            list(plain.search_paths([q], k=5))
            t_plain.append(time.perf_counter() - t0)
    print(f"{len(list(folder.iterdir()))} indexed images, {len(queries)} queries, one at a time\n")
    print("| search | median s/query | max s/query |")
    print("|---|---:|---:|")
    print(f"| --verify 20 | {np.median(times):.3f} | {max(times):.3f} |")
    print(f"| embedding only | {np.median(t_plain):.3f} | {max(t_plain):.3f} |")
    shutil.rmtree(folder.parent)


if __name__ == "__main__":
    main()
