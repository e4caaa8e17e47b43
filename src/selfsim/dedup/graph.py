"""The near-duplicate candidate graph: each stored vector's nearest neighbours.

Never an N x N matrix: FAISS finds each vector's ``k`` nearest others, and only
pairs above a similarity floor are kept. Up to ``exact_limit`` vectors the search
runs at full dimension on the vectors in memory. Larger collections are read through
once, a batch at a time, and projected to ``reduce_to`` dimensions (the principal axes
of a sample); only the projection stays in memory, searched exactly up to
``ann_limit`` vectors and with HNSW (Malkov & Yashunin, 2018) above. Each candidate
pair is then scored exactly by fetching just its two vectors, so a reported
similarity is always the true cosine. Memory is linear in N: the projection (512 bytes
a vector at 128-d), its search graph and the candidate pairs; never the full vectors.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import faiss
import numpy as np

from selfsim.dedup.sources import ArrayVectors, VectorSource

log = logging.getLogger(__name__)

#: Collections up to this size are searched at full dimension, in memory (~100 MB at 1280-d).
EXACT_LIMIT = 20_000
#: Projections up to this size are searched exactly, larger ones with HNSW: exact search
#: time grows with n^2 (14 s for 100,000 on 2 cores), HNSW's with about n log n.
ANN_LIMIT = 200_000
#: Vectors used to fit the projection.
PCA_SAMPLE = 20_000
#: Candidate pairs rescored at once (their vectors are fetched together: <= 40 MB at 1280-d).
PAIRS_AT_ONCE = 4096
#: HNSW links per vector, and the beam widths while building and searching (of 10,000
#: planted copies among 1,000,000 vectors, a search beam of 64 missed 2, 96 none).
HNSW_M, HNSW_BUILD, HNSW_SEARCH = 32, 40, 96


@dataclass(frozen=True)
class Edges:
    """Unordered pairs of catalog ids (``a < b``) and their cosine similarity, best first."""

    a: np.ndarray
    b: np.ndarray
    similarity: np.ndarray

    def __len__(self) -> int:
        return len(self.a)


def neighbour_graph(
    ids: np.ndarray,
    xb: np.ndarray,
    k: int = 10,
    min_similarity: float = 0.5,
    reduce_to: int = 128,
    exact_limit: int = EXACT_LIMIT,
    ann_limit: int = ANN_LIMIT,
    chunk: int = 4096,
    seed: int = 0,
) -> Edges:
    """:func:`source_graph` of vectors in memory: ``ids`` (n,) int64, ``xb`` (n, d) float32."""
    return source_graph(ArrayVectors(ids, xb), k, min_similarity, reduce_to, exact_limit, ann_limit, chunk, seed)


def source_graph(
    vectors: VectorSource,
    k: int = 10,
    min_similarity: float = 0.5,
    reduce_to: int = 128,
    exact_limit: int = EXACT_LIMIT,
    ann_limit: int = ANN_LIMIT,
    chunk: int = 4096,
    seed: int = 0,
) -> Edges:
    """Each vector's ``k`` nearest others with cosine at least ``min_similarity``.

    Args:
        vectors: unit vectors and their catalog ids (:mod:`selfsim.dedup.sources`).
        k: neighbours looked at per vector (a group larger than ``k + 1`` is still
            found whole when its members are linked through one another).
        reduce_to: dimensions of the projection used above ``exact_limit`` vectors.
        ann_limit: above this many vectors the projection is searched with HNSW.
        chunk: vectors read, projected or searched at once.

    Returns:
        :class:`Edges`, each pair once.
    """
    n, d = len(vectors), vectors.dim
    if n < 2:
        return Edges(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
    k = min(k, n - 1)
    if n <= exact_limit or d <= reduce_to:
        lo, hi, s = _exact_pairs(vectors, k, min_similarity, chunk)
    else:
        lo, hi, s = _projected_pairs(vectors, k, min_similarity, reduce_to, ann_limit, chunk, seed)
    order = np.argsort(-s, kind="stable")
    ia, ib = vectors.ids[lo[order]], vectors.ids[hi[order]]
    return Edges(np.minimum(ia, ib), np.maximum(ia, ib), s[order].astype(np.float32))


def _exact_pairs(
    vectors: VectorSource, k: int, floor: float, chunk: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``lo < hi`` and cosine of each vector's ``k`` nearest, all at full dimension."""
    xb = np.concatenate(list(vectors.batches(chunk)))
    index = faiss.IndexFlatIP(xb.shape[1])
    index.add(xb)
    keys, sims = [], []
    for start in range(0, len(xb), chunk):
        D, I = index.search(xb[start : start + chunk], k + 1)
        key, s = _pair_keys(start, D, I, D >= floor, len(xb))
        keys.append(key)
        sims.append(s)
    return _unique_pairs(np.concatenate(keys), np.concatenate(sims), len(xb))


def _projected_pairs(
    vectors: VectorSource, k: int, floor: float, reduce_to: int, ann_limit: int, chunk: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``lo < hi`` and true cosine of the pairs found near in the projection.

    With ``p = P x`` on orthonormal axes ``P`` and the rest ``r = x - P^T p``, every
    inner product splits exactly as ``x.y = p_x.p_y + r_x.r_y``, and
    ``|r_x.r_y| <= |r_x| |r_y|``; a candidate whose ``p_x.p_y + |r_x| |r_y|`` is below
    the floor cannot reach it, and is dropped without fetching its vectors.
    """
    n = len(vectors)
    clock = time.perf_counter()
    rng = np.random.default_rng(seed)
    sample = vectors.take(np.sort(rng.choice(n, size=min(n, PCA_SAMPLE), replace=False)))
    axes = principal_axes(sample, reduce_to)
    del sample
    index = _search_index(reduce_to, n, ann_limit)
    rest = np.empty(n, np.float32)  # |r| of each vector
    at = 0
    for xb in vectors.batches(chunk):  # the one pass over every full vector
        p = xb @ axes.T
        rest[at : at + len(xb)] = np.sqrt(np.maximum(np.einsum("ij,ij->i", xb, xb) - np.einsum("ij,ij->i", p, p), 0))
        index.add(p)
        at += len(xb)
    assert at == n, f"the source gave {at} vectors of {n}"
    log.info("%d vectors read and projected to %d-d (%s) in %.1f s", n, reduce_to, type(index).__name__,
             time.perf_counter() - clock)
    clock = time.perf_counter()
    depth = min(n, 2 * k + 1)  # the projection blurs ranks: look deeper, rescore exactly
    keys = []
    for start in range(0, n, chunk):
        D, I = index.search(index.reconstruct_n(start, min(chunk, n - start)), depth)
        bound = D + rest[start : start + len(I), None] * rest[np.maximum(I, 0)]  # I = -1: dropped anyway
        keys.append(_pair_keys(start, D, I, bound + 1e-4 >= floor, n)[0])  # 1e-4: float rounding
    del index
    key = np.unique(np.concatenate(keys))
    log.info("searched in %.1f s: %d candidate pairs within reach of the floor", time.perf_counter() - clock, len(key))
    clock = time.perf_counter()
    lo, hi = key // n, key % n
    sims = np.empty(len(key), np.float32)
    for start in range(0, len(key), PAIRS_AT_ONCE):  # sorted by lo: nearby rows are read together
        a, b = lo[start : start + PAIRS_AT_ONCE], hi[start : start + PAIRS_AT_ONCE]
        rows = np.unique(np.concatenate([a, b]))
        x = vectors.take(rows)
        sims[start : start + len(a)] = np.einsum("ij,ij->i", x[np.searchsorted(rows, a)], x[np.searchsorted(rows, b)])
    keep = sims >= floor
    log.info("%d pairs rescored exactly in %.1f s, %d at or above %.2f", len(key), time.perf_counter() - clock,
             keep.sum(), floor)
    return lo[keep], hi[keep], sims[keep]


def principal_axes(sample: np.ndarray, dims: int) -> np.ndarray:
    """(dims, d) orthonormal rows: the top eigenvectors of the sample's second moments.

    Not centred (unlike ``faiss.PCAMatrix``): a centred projection adds the mean back
    into every inner product, which breaks the exact split the bound above relies on.
    """
    _, vecs = np.linalg.eigh((sample.T @ sample).astype(np.float64))  # ascending eigenvalues
    return np.ascontiguousarray(vecs[:, ::-1][:, :dims].T, dtype=np.float32)


def _search_index(dims: int, n: int, ann_limit: int) -> faiss.Index:
    """Exact inner-product search up to ``ann_limit`` vectors, HNSW above."""
    if n <= ann_limit:
        return faiss.IndexFlatIP(dims)
    index = faiss.IndexHNSWFlat(dims, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_BUILD
    index.hnsw.efSearch = HNSW_SEARCH
    return index


def _pair_keys(
    start: int, D: np.ndarray, I: np.ndarray, keep: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Search results of rows ``start...`` as pair keys ``lo * n + hi`` and their scores,
    leaving out each row itself, padding (-1) and entries not in ``keep``."""
    q = np.arange(start, start + len(I))[:, None]
    keep = keep & (I >= 0) & (I != q)
    q, c = np.broadcast_to(q, I.shape)[keep], I[keep]
    return np.minimum(q, c).astype(np.int64) * n + np.maximum(q, c), D[keep]


def _unique_pairs(key: np.ndarray, sims: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key, first = np.unique(key, return_index=True)
    return key // n, key % n, sims[first]
