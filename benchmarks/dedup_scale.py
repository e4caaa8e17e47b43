"""Time and peak memory of `selfsim dedup --index I --json` over synthetic collections
of 10,000 to 1,000,000 stored 1280-d vectors; each size runs in its own process.

The index is real (`Index.create`, one catalog row per picture, written through
`Catalog.insert` as `selfsim index` writes them; no FAISS store file, which dedup does not
read), but nothing is embedded: the vectors are
synthetic unit vectors of intrinsic dimension 64, as embeddings are, and 1 % of the rows
are planted near copies of another row (cosine about 0.97). The planted pairs whose
pictures are given files (1,000 of them at most; `--files`) point at a real
small picture and a resized JPEG copy of it (`selfsim.data.synthetic`), so their pairs
are checked with local features and alignment exactly as for photos; the other rows
name files that do not exist. Cached local features are cleared before each run, as
after a plain `selfsim index` (without `--local-features`).

Timed: the whole command in a new process (Python start-up and imports included), of
which the candidate graph (`selfsim.dedup.graph.source_graph`, read from the catalog)
is timed on its own; the rest is loading the records, checking the candidate pairs and
grouping. Peak memory is the process's VmHWM.

    python benchmarks/dedup_scale.py [--sizes 10000 100000 1000000] [--work DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from selfsim.data.synthetic import synthetic_picture
from selfsim.index import Index
from selfsim.index.catalog import NewImage
from selfsim.index.index import ModelRef

D = 1280
MODEL = ModelRef("synthetic-1280", "synthetic vectors", {"model": None, "weights": None}, D)

CHILD = """
import json, sys, time
import selfsim.dedup.finder as finder
from selfsim.cli.main import main

graph = {}
source_graph = finder.source_graph
def timed(*args, **kwargs):
    start = time.perf_counter()
    edges = source_graph(*args, **kwargs)
    graph.update(seconds=time.perf_counter() - start, pairs=[edges.a.tolist(), edges.b.tolist()])
    return edges
finder.source_graph = timed
code = main(["dedup", "--index", sys.argv[1], "--json", "-q"])
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
json.dump({"code": code, "peak_gb": peak / 2**20, **graph}, open(sys.argv[2], "w"))
"""


@dataclass(frozen=True)
class Planted:
    """A planted pair: the two catalog ids (original first), their paths, and whether
    the paths are real picture files."""

    ids: tuple[int, int]
    paths: tuple[str, str]
    file: bool


@dataclass(frozen=True)
class Run:
    seconds: float  # the whole command, from starting the process to its exit
    graph_seconds: float
    peak_gb: float
    edges: int  # candidate pairs in the graph
    in_graph: int  # planted pairs among them
    planted: int
    grouped: int  # planted pairs with files found in one near group
    files: int


def build(folder: Path, n: int, files: int, seed: int = 0) -> list[Planted]:
    """An index (``folder/index``) of ``n`` synthetic rows with ``n // 100`` planted pairs,
    ``files`` of them with picture files in ``folder/pictures``.

    Rows are written in id order a batch at a time (never all ``n`` vectors at once); a
    planted copy repeats a row written earlier, at a random place after it.
    """
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((64, D)).astype(np.float32)
    ends = np.sort(rng.choice(n, size=2 * (n // 100), replace=False).reshape(-1, 2), axis=1)
    copy_of = {int(hi): int(lo) for lo, hi in ends}
    pair_of = {int(e): p for p, pair in enumerate(ends) for e in pair}
    with_files = set(rng.permutation(len(ends))[:files].tolist())
    originals: dict[int, np.ndarray] = {}  # vectors of rows still to be copied
    ids, paths = np.empty(n, np.int64), {}
    pics = folder / "pictures"
    pics.mkdir(parents=True)
    with Index.create(folder / "index", MODEL) as index:
        for start in range(0, n, 20_000):
            m = min(20_000, n - start)
            x = rng.standard_normal((m, 64)).astype(np.float32) @ basis + 0.5 * rng.standard_normal((m, D)).astype(np.float32)
            rows = []
            for i, v in enumerate(x, start):
                if i in copy_of:
                    v = originals.pop(copy_of[i]) + 0.25 * rng.standard_normal(D).astype(np.float32) / np.sqrt(D)
                v = v / np.linalg.norm(v)
                pair = pair_of.get(i, -1)
                if pair >= 0 and i not in copy_of:
                    originals[i] = v
                if pair in with_files:
                    path = pics / (f"{pair}-copy.jpg" if i in copy_of else f"{pair}.png")
                    picture = synthetic_picture(pair)
                    if i in copy_of:  # a smaller, re-encoded copy
                        picture = picture.resize((240, 180))
                    picture.save(path, quality=85)
                    st = path.stat()
                    sha = hashlib.sha256(path.read_bytes()).hexdigest()
                    rows.append(NewImage(str(path), sha, st.st_size, st.st_mtime_ns, *picture.size, v, 0))
                else:
                    path = pics / "gone" / f"{i}.jpg"  # a file that does not exist (any more)
                    sha = hashlib.sha256(str(path).encode()).hexdigest()
                    rows.append(NewImage(str(path), sha, 100_000, 0, 640, 480, v, 0))
                if pair >= 0:
                    paths[i] = str(path)
            ids[start : start + m] = index.catalog.insert(rows, MODEL.fingerprint)[0]
    return [Planted((int(ids[lo]), int(ids[hi])), (paths[lo], paths[hi]), p in with_files)
            for p, (lo, hi) in enumerate(ends.tolist())]


def measure(folder: Path, planted: list[Planted]) -> Run:
    """Run `selfsim dedup` on ``folder/index`` in a new process; its time, memory and findings."""
    with Index.open(folder / "index", writable=True) as index:
        index.catalog.execute("DELETE FROM local_features")  # as after a plain `selfsim index`
    stats = folder / "run.json"
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder / "index"), str(stats)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(f"selfsim dedup failed: {out.stderr.strip()[-2000:]}")
    r = json.loads(stats.read_text())
    edges = set(zip(*r["pairs"]))
    groups = [set(g["members"]) for g in json.loads(out.stdout)["groups"] if g["kind"] == "near"]
    with_files = [p for p in planted if p.file]
    return Run(seconds, r["seconds"], r["peak_gb"], len(edges), sum(p.ids in edges for p in planted), len(planted),
               sum(any(set(p.paths) <= g for g in groups) for p in with_files), len(with_files))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--files", type=int, default=1000, help="planted pairs given picture files (default: %(default)s)")
    ap.add_argument("--work", type=Path, help="keep the indexes here and reuse them (default: a temporary folder)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="dedup-scale-"))
    print(f"{os.cpu_count()} CPU cores, {platform.machine()}; load average before: "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'vectors':>9} {'whole command':>14} {'graph':>7} {'peak memory':>12} {'graph pairs':>12} "
          f"{'planted in graph':>17} {'copies grouped':>15}")
    for n in args.sizes:
        folder = work / f"n{n}"
        planted_file = folder / "planted.json"
        if not planted_file.exists():
            if folder.exists():
                raise SystemExit(f"{folder} exists but is not a finished benchmark index; remove it")
            start = time.perf_counter()
            built = build(folder, n, min(args.files, n // 100))
            planted_file.write_text(json.dumps([asdict(p) for p in built]))
            print(f"  (built {folder} in {time.perf_counter() - start:.0f} s)", file=sys.stderr)
        planted = [Planted(tuple(p["ids"]), tuple(p["paths"]), p["file"]) for p in json.loads(planted_file.read_text())]
        r = measure(folder, planted)
        print(f"{n:>9} {r.seconds:>13.1f}s {r.graph_seconds:>6.1f}s {r.peak_gb:>9.2f} GB {r.edges:>12} "
              f"{r.in_graph:>9}/{r.planted:<7} {r.grouped:>7}/{r.files:<7}", flush=True)
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
