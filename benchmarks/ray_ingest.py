"""Ray Data embedding throughput against the local path, on this machine.

The photo set of benchmarks/ingest_speed.py (every distinct picture of the Debian
wallpaper packages of at least 2 megapixels, as full-resolution JPEG) is indexed into
a fresh index as users run it (`selfsim index FOLDER --index I`, start-up included),
once locally and once per number of Ray actors (`--engine ray --ray-actors N`, a
local Ray runtime started by the command). The vectors of each Ray index are compared
with the local one's (lowest cosine over all pictures).

    python benchmarks/ray_ingest.py [--actors 1 2] [--out bench-out/ingest]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ingest_speed import photos  # noqa: E402

from selfsim.index import Index  # noqa: E402


def run(folder: Path, index: Path, extra: list[str]) -> tuple[float, float]:
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    res = subprocess.run(["selfsim", "index", str(folder), "--index", str(index), "-q", *extra],
                         check=True, capture_output=True, text=True)
    whole = time.perf_counter() - t0
    inner = float(re.search(r" in ([0-9.]+)s with model", res.stderr).group(1))  # type: ignore[union-attr]
    return whole, inner


def vectors(index: Path) -> dict[str, np.ndarray]:
    with Index.open(index) as ix:
        ids, xb = ix.catalog.vectors(ix.model.dim)
        paths = ix.paths(ids)
    return {paths[int(i)]: v for i, v in zip(ids, xb, strict=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/ingest"))
    ap.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    folder = args.out / "photos"
    files = photos(folder)
    print(f"{os.cpu_count()} CPU cores; {len(files)} JPEG photos of 2 MP or more\n")
    print("| engine | whole command s | images/s | as reported s | images/s | lowest cosine to local |")
    print("|---|---:|---:|---:|---:|---:|")
    local_index = args.out / "index-local"
    whole, inner = run(folder, local_index, [])
    local = vectors(local_index)
    print(f"| local (threads decode, onnxruntime embeds) | {whole:.1f} | {len(files) / whole:.1f} | {inner:.1f} "
          f"| {len(files) / inner:.1f} | 1 |", flush=True)
    for n in args.actors:
        index = args.out / f"index-ray-{n}"
        whole, inner = run(folder, index, ["--engine", "ray", "--ray-actors", str(n)])
        theirs = vectors(index)
        low = min(float(local[p] @ theirs[p]) for p in local)
        print(f"| Ray Data, {n} actor{'s' if n > 1 else ''} | {whole:.1f} | {len(files) / whole:.1f} | {inner:.1f} "
              f"| {len(files) / inner:.1f} | {low:.6f} |", flush=True)


if __name__ == "__main__":
    main()
