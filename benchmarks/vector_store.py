"""Vector stores at scale, through a real index: build time, memory, single-query
latency and recall@10, and the cost of adding and deleting 1,000 pictures.

Each size gets an index folder (catalog and store) filled with synthetic vectors shaped
like the default encoder's embeddings: the eigenvalues and mean length measured on real
photos by benchmarks/embedding_spectrum.py, in random directions (every store here is
blind to rotations). ``--spread`` sets how clustered the collection is: vectors are
drawn around one of N/50 centres, with the centres' own spread times ``--spread``
(1.0: no clusters at all, the hardest case for a graph; 0.8: loose groups of similar
pictures). Queries are 200 more vectors of the same kind, from another seed.

Per store kind and size:
- build s: writing the catalog (SQLite, float16 vectors, as `selfsim index` commits
  them) and then the store from it, as `selfsim index` does when it saves;
- disk GB: the index folder; memory GB: anonymous resident memory of a fresh reader after its
  first query (what `selfsim search` or `selfsim serve` holds, pages of the catalog that
  the operating system caches left out);
- open s: a fresh reader to its first answer;
- p50/p99 ms and recall@10: one query at a time against exact search over the same
  stored vectors;
- add/delete 1,000 s: a writer adding 1,000 pictures (or deleting 1,000), saving
  included; then latency and recall again.

    python benchmarks/vector_store.py [--sizes 100000 1000000] [--kinds flat hnsw] [--spread 1.0]
        [--sweep 64:64 128:128 ...] [--seed 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from selfsim.index import faiss_store
from selfsim.index.catalog import NewImage
from selfsim.index.index import Index, ModelRef

SPECTRUM = Path(__file__).parent / "data" / "embedding_spectrum.json"
K = 10
#: Milvus Lite stores (pip install '.[milvus]'): the address options of each.
MILVUS_KINDS = {"milvus-lite": "", "milvus-lite-hnsw": "?index=HNSW"}


class EmbeddingLike:
    """Unit vectors with a measured spectrum, around N/50 random centres."""

    def __init__(self, n_centres: int, spread: float, seed: int) -> None:
        spec = json.loads(SPECTRUM.read_text())
        ev = np.asarray(spec["eigenvalues"], np.float64)
        dim = len(ev)
        rng = np.random.default_rng(seed)
        basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        self.mean = (basis[:, 0] * spec["mean_length"]).astype(np.float32)
        # Centre and member draws add up to the measured variance.
        self.scale = (basis * np.sqrt(ev / (1 + spread**2))).astype(np.float32).T
        self.spread, self.dim = spread, dim
        self.centres = self.mean + rng.standard_normal((n_centres, dim)).astype(np.float32) @ self.scale

    def draw(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), np.float32)
        for start in range(0, n, 50_000):
            m = min(50_000, n - start)
            x = self.centres[rng.integers(0, len(self.centres), m)]
            x = x + self.spread * (rng.standard_normal((m, self.dim)).astype(np.float32) @ self.scale)
            out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


def images(xb: np.ndarray, first: int) -> list[NewImage]:
    return [NewImage(f"/pictures/{first + i:08d}.jpg", f"{first + i:064x}", 1, 1, 1, 1, v, first + i)
            for i, v in enumerate(xb)]


def exact_top(xq: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray]], gone: np.ndarray | None = None) -> np.ndarray:
    """The true top ``K`` ids by inner product over ``parts`` of ``(vectors, ids)``
    (ids in ``gone`` left out), in chunks, without copying the collection."""
    best_s = np.full((len(xq), 0), -np.inf, np.float32)
    best_i = np.empty((len(xq), 0), np.int64)
    for xb, ids in parts:
        best_s, best_i = _top_part(xq, xb, ids, best_s, best_i, gone)
    return best_i


def _top_part(xq, xb, ids, best_s, best_i, gone):
    for start in range(0, len(xb), 200_000):
        s = xq @ xb[start : start + 200_000].T
        if gone is not None:
            s[:, np.isin(ids[start : start + 200_000], gone)] = -np.inf
        s_all = np.concatenate([best_s, s], axis=1)
        i_all = np.concatenate([best_i, np.broadcast_to(ids[start : start + 200_000], s.shape)], axis=1)
        top = np.argsort(-s_all, axis=1)[:, :K]
        best_s, best_i = np.take_along_axis(s_all, top, 1), np.take_along_axis(i_all, top, 1)
    return best_s, best_i


def measure(folder: Path | str, work: Path, xq: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Open, first answer, latency and recall, in a fresh process (its memory is the
    reader's, with that of the processes it started: Milvus Lite's server)."""
    np.save(work / "xq.npy", xq)
    np.save(work / "truth.npy", truth)
    code = f"""
import json, os, time, numpy as np
t0 = time.perf_counter()
from selfsim.index.index import Index
xq, truth = np.load({str(work / 'xq.npy')!r}), np.load({str(work / 'truth.npy')!r})
index = Index.open({str(folder)!r})
index.search(xq[:1], {K})
opened = time.perf_counter() - t0
times, recall = [], []
for q, t in zip(xq, truth):
    a = time.perf_counter(); _, I = index.search(q[None], {K}); times.append(time.perf_counter() - a)
    recall.append(len(set(I[0].tolist()) & set(t.tolist())) / {K})
def rss_anon(pid):
    try:
        return [int(l.split()[1]) for l in open(f'/proc/{{pid}}/status') if l.startswith('RssAnon:')][0] / 2**20
    except (OSError, IndexError):
        return 0.0
def children(pid):
    out = []
    for task in os.listdir(f'/proc/{{pid}}/task'):
        try:
            out += [int(c) for c in open(f'/proc/{{pid}}/task/{{task}}/children').read().split()]
        except OSError:
            pass
    return out + [g for c in out for g in children(c)]
rss = rss_anon(os.getpid()) + sum(rss_anon(c) for c in children(os.getpid()))
print(json.dumps(dict(open=opened, p50=float(np.percentile(times, 50) * 1000), p99=float(np.percentile(times, 99) * 1000),
                      recall=float(np.mean(recall)), memory=rss)))
"""
    env = os.environ | {"SELFSIM_SWEEP": os.environ.get("SELFSIM_SWEEP", "")}
    out = subprocess.run([sys.executable, "-c", _SWEEP_PRELUDE + code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"the reader failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# A sweep row sets the graph's search depth and shortlist in the reader process.
_SWEEP_PRELUDE = """
import os
if os.environ.get("SELFSIM_SWEEP"):
    from selfsim.index import faiss_store
    ef, shortlist = map(int, os.environ["SELFSIM_SWEEP"].split(":"))
    faiss_store.HNSW_EF_SEARCH, faiss_store.SHORTLIST = ef, shortlist
"""


def disk_gb(folder: Path) -> float:
    if folder.is_file():
        return folder.stat().st_size / 1e9
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--kinds", nargs="+", default=["flat", "hnsw"],
                    help=f"flat, hnsw, ivfpq (FAISS) and {', '.join(MILVUS_KINDS)} (Milvus Lite: exact, HNSW)")
    ap.add_argument("--spread", type=float, default=1.0, help="1.0: no clusters; below: loose clusters")
    ap.add_argument("--seed", type=int, default=1, help="the collection's and the queries' seed")
    ap.add_argument("--sweep", nargs="*", default=[], metavar="EF:SHORTLIST",
                    help="also measure HNSW with these search depths and shortlists "
                         f"(selfsim's: {faiss_store.HNSW_EF_SEARCH}:{faiss_store.SHORTLIST})")
    ap.add_argument("--no-updates", action="store_true", help="skip adding and deleting 1,000")
    ap.add_argument("--reduced-dim", type=int, default=faiss_store.REDUCED_DIM,
                    help="numbers the approximate kinds reduce vectors to (default: selfsim's, %(default)s)")
    ap.add_argument("--hnsw-m", type=int, default=faiss_store.HNSW_M,
                    help="HNSW neighbours per node (default: selfsim's, %(default)s)")
    ap.add_argument("--ef-construction", type=int, default=faiss_store.HNSW_EF_CONSTRUCTION,
                    help="HNSW build depth (default: selfsim's, %(default)s)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the index folders go (default: a temp folder)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vector-store-", dir=args.workdir))
    faiss_store.REDUCED_DIM = args.reduced_dim
    faiss_store.HNSW_M, faiss_store.HNSW_EF_CONSTRUCTION = args.hnsw_m, args.ef_construction
    print(f"{os.cpu_count()} CPU cores; synthetic embedding-like vectors, spread {args.spread}, seed {args.seed}; "
          f"HNSW (M {faiss_store.HNSW_M}, efConstruction {faiss_store.HNSW_EF_CONSTRUCTION}) over "
          f"{faiss_store.REDUCED_DIM} reduced numbers, efSearch {faiss_store.HNSW_EF_SEARCH}, "
          f"shortlist {faiss_store.SHORTLIST}\n")
    rows, sweep = [], []
    try:
        for n in args.sizes:
            gen = EmbeddingLike(max(1, n // 50), args.spread, args.seed)
            xb = gen.draw(n, args.seed * 1000 + 1)
            xq = gen.draw(200, args.seed * 1000 + 2)
            extra = gen.draw(1000, args.seed * 1000 + 3)
            for start in range(0, n, 100_000):  # what the catalog keeps: float16, in place
                xb[start : start + 100_000] = xb[start : start + 100_000].astype(np.float16)
            truth_rows = exact_top(xq, [(xb, np.arange(n, dtype=np.int64))])
            for kind in args.kinds:
                folder: Path | str = work / f"{kind}-{n}"
                if kind in MILVUS_KINDS:
                    folder = f"milvus-lite://{work / f'{kind}-{n}.db'}{MILVUS_KINDS[kind]}"
                model = ModelRef("synthetic" + str(gen.dim), "synthetic", {"model": None}, gen.dim)
                t0 = time.perf_counter()
                with Index.create(folder, model, kind="auto" if kind in MILVUS_KINDS else kind) as index:
                    for start in range(0, n, 20_000):
                        index.catalog.insert(images(xb[start : start + 20_000], start), model.fingerprint)
                    index.save()  # the store, made from the catalog as `selfsim index` makes it
                    ids = index.catalog.ids()  # in insertion order: row i of xb is ids[i]
                build = time.perf_counter() - t0
                gc.collect()
                truth = ids[truth_rows]
                m = measure(folder, work, xq, truth)
                on_disk = work / f"{kind}-{n}.db" if kind in MILVUS_KINDS else Path(folder)
                row = dict(n=n, kind=kind, build=build, disk=disk_gb(on_disk), **m)
                if kind == "hnsw":
                    for setting in args.sweep:
                        os.environ["SELFSIM_SWEEP"] = setting
                        s = measure(folder, work, xq, truth)
                        sweep.append(f"| {n:,} | {setting.replace(':', ' | ')} | {s['p50']:.2f} | {s['p99']:.2f} "
                                     f"| {s['recall']:.3f} |")
                        print(sweep[-1], flush=True)
                    os.environ.pop("SELFSIM_SWEEP", None)
                if not args.no_updates:
                    with Index.open(folder, writable=True) as index:
                        t0 = time.perf_counter()
                        new_ids = index.add(images(extra, n))
                        index.save()
                        row["add"] = time.perf_counter() - t0
                        gone = np.random.default_rng(4).choice(ids, 1000, replace=False)
                        t0 = time.perf_counter()
                        index.remove([int(i) for i in gone])
                        index.save()
                        row["delete"] = time.perf_counter() - t0
                    added = (extra.astype(np.float16).astype(np.float32), np.asarray(new_ids, np.int64))
                    after = measure(folder, work, xq, exact_top(xq, [(xb, ids), added], gone))
                    row["p50_after"], row["recall_after"] = after["p50"], after["recall"]
                rows.append(row)
                print(_row(row), flush=True)
                shutil.rmtree(on_disk, ignore_errors=True)
            del xb
            gc.collect()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| vectors | store | build s | disk GB | memory GB | open s | p50 ms | p99 ms | recall@10 "
          "| add 1,000 s | delete 1,000 s | p50 ms after | recall@10 after |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(_row(row))
    if sweep:
        print("\nHNSW search depth and shortlist against latency and recall@10:\n")
        print("| vectors | efSearch | shortlist | p50 ms | p99 ms | recall@10 |\n|---:|---:|---:|---:|---:|---:|")
        print("\n".join(sweep))


def _row(r: dict) -> str:
    def f(key: str, fmt: str) -> str:
        return format(r[key], fmt) if key in r else "-"

    return (f"| {r['n']:,} | {r['kind']} | {r['build']:.1f} | {r['disk']:.2f} | {r['memory']:.2f} | {r['open']:.2f} "
            f"| {r['p50']:.2f} | {r['p99']:.2f} | {r['recall']:.3f} | {f('add', '.2f')} | {f('delete', '.2f')} "
            f"| {f('p50_after', '.2f')} | {f('recall_after', '.3f')} |")


if __name__ == "__main__":
    main()
