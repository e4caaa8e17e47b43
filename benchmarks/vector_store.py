"""Vector stores at scale: build time, memory, single-query latency and recall@10, and
the cost of adding and deleting 1,000 vectors, for each kind of store selfsim uses.

The vectors are synthetic unit vectors of intrinsic dimension 64 in 1280 dimensions (as
the default encoder's embeddings are: correlated, not uniform on the sphere); queries
are 200 more of the same kind. Recall@10 is measured against exact search over the same
vectors. Latency is one query at a time (FAISS on all cores), p50 and p99 over the
queries. Updates go through `FaissStore.add`/`remove` as `selfsim index` makes them (on
HNSW, deletes are tombstones), then the latency is measured again. Memory is the
process's resident set after the build, minus that before it.

    python benchmarks/vector_store.py [--sizes 100000 1000000] [--dim 1280]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from selfsim.index.store import HNSW_EF_SEARCH, FaissStore


def rss_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def vectors(n: int, dim: int, seed: int, basis: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = rng.standard_normal((m, basis.shape[0])).astype(np.float32) @ basis
        x += 0.05 * rng.standard_normal((m, dim)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def latency(store: FaissStore, xq: np.ndarray, k: int = 10) -> tuple[float, float, np.ndarray]:
    times, found = [], []
    for q in xq:
        t0 = time.perf_counter()
        _, ids = store.search(q[None], k)
        times.append(time.perf_counter() - t0)
        found.append(ids[0])
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 99) * 1000), np.array(found)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--kinds", nargs="+", default=["flat", "hnsw"])
    ap.add_argument("--ef-search", type=int, nargs="*", default=[],
                    help="also measure HNSW at these efSearch values (selfsim uses HNSW_EF_SEARCH)")
    args = ap.parse_args()
    basis = np.random.default_rng(0).standard_normal((64, args.dim)).astype(np.float32)
    print(f"{os.cpu_count()} CPU cores; {args.dim}-d unit vectors of intrinsic dimension 64\n")
    print("| vectors | store | build s | memory GB | p50 ms | p99 ms | recall@10 | add 1,000 s | delete 1,000 s "
          "| p50 ms after | recall@10 after |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    sweep: list[str] = []
    for n in args.sizes:
        xb = vectors(n, args.dim, 1, basis)
        xq = vectors(200, args.dim, 2, basis)
        extra = vectors(1000, args.dim, 3, basis)
        ids = np.arange(n, dtype=np.int64)
        truth = np.argsort(-(xq @ xb.T), axis=1)[:, :10]
        gone = np.random.default_rng(4).choice(n, 1000, replace=False)
        for kind in args.kinds:
            before = rss_gb()
            t0 = time.perf_counter()
            store = FaissStore(args.dim, kind)
            for start in range(0, n, 50_000):
                store.add(ids[start : start + 50_000], xb[start : start + 50_000])
            build = time.perf_counter() - t0
            memory = rss_gb() - before
            p50, p99, found = latency(store, xq)
            recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
            if kind == "hnsw":
                import faiss

                hnsw = faiss.downcast_index(store._index.index)
                for ef in args.ef_search:
                    hnsw.hnsw.efSearch = ef
                    e50, e99, e_found = latency(store, xq)
                    e_recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(e_found, truth)])
                    sweep.append(f"| {n:,} | {ef} | {e50:.2f} | {e99:.2f} | {e_recall:.3f} |")
                hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            t0 = time.perf_counter()
            store.add(np.arange(n, n + 1000, dtype=np.int64), extra)
            add_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            store.remove(gone)
            del_s = time.perf_counter() - t0
            all_x = np.concatenate([xb, extra])
            keep = np.ones(len(all_x), bool)
            keep[gone] = False
            live = np.flatnonzero(keep)
            truth_after = live[np.argsort(-(xq @ all_x[live].T), axis=1)[:, :10]]
            p50b, _, found_b = latency(store, xq)
            recall_b = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found_b, truth_after)])
            print(f"| {n:,} | {kind} | {build:.1f} | {memory:.2f} | {p50:.2f} | {p99:.2f} | {recall:.3f} | "
                  f"{add_s:.2f} | {del_s:.2f} | {p50b:.2f} | {recall_b:.3f} |", flush=True)
            del store
    if sweep:
        print("\nHNSW, efSearch against latency and recall@10 (before the updates):\n")
        print("| vectors | efSearch | p50 ms | p99 ms | recall@10 |")
        print("|---:|---:|---:|---:|---:|")
        print("\n".join(sweep))


if __name__ == "__main__":
    main()
