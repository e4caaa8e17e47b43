"""The near-duplicate candidate graph: each stored vector's nearest neighbours.

Never an N x N matrix: FAISS finds each vector's ``k`` nearest others, and only
pairs above a similarity floor are kept. Above ``exact_limit`` vectors the search
runs on a PCA projection to ``reduce_to`` dimensions (fitted on a sample), which
is about six times cheaper on 1280-d embeddings, and every candidate pair is then
scored exactly with the full vectors, so a reported similarity is always the true
cosine. Memory is linear in N: the vectors, their projection and ``N x k`` results.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

#: Collections up to this size are searched at full dimension.
EXACT_LIMIT = 20_000
#: Vectors used to fit the projection.
PCA_SAMPLE = 20_000
#: Candidate pairs rescored at once (two gathers of this many vectors: ~40 MB at 1280-d).
PAIRS_AT_ONCE = 4096


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
    chunk: int = 4096,
    seed: int = 0,
) -> Edges:
    """Each vector's ``k`` nearest others with cosine at least ``min_similarity``.

    Args:
        ids: (n,) int64 catalog ids of the rows of ``xb``.
        xb: (n, d) float32 unit vectors.
        k: neighbours looked at per vector (a group larger than ``k + 1`` is still
            found whole when its members are linked through one another).
        reduce_to: dimensions of the projection used above ``exact_limit`` vectors.

    Returns:
        :class:`Edges`, each pair once.
    """
    n, d = xb.shape
    if n < 2:
        return Edges(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
    xb = np.ascontiguousarray(xb, dtype=np.float32)
    k = min(k, n - 1)
    if n <= exact_limit or d <= reduce_to:
        space, depth = xb, k + 1
    else:
        rng = np.random.default_rng(seed)
        sample = xb[np.sort(rng.choice(n, size=min(n, PCA_SAMPLE), replace=False))]
        pca = faiss.PCAMatrix(d, reduce_to)
        pca.train(sample)
        space = np.empty((n, reduce_to), np.float32)
        for start in range(0, n, chunk):
            space[start : start + chunk] = pca.apply(xb[start : start + chunk])
        faiss.normalize_L2(space)
        depth = min(n, 2 * k + 1)  # the projection blurs ranks: look deeper, rescore exactly
    index = faiss.IndexFlatIP(space.shape[1])
    index.add(space)
    rows, cols, sims = [], [], []
    for start in range(0, n, chunk):
        _, I = index.search(space[start : start + chunk], depth)
        q = np.repeat(np.arange(start, start + len(I)), depth)
        c = I.reshape(-1)
        keep = (c >= 0) & (c != q)
        q, c = q[keep], c[keep]
        s = np.empty(len(q), np.float32)
        for at in range(0, len(q), PAIRS_AT_ONCE):  # exact cosine of every candidate, in slices
            part = slice(at, at + PAIRS_AT_ONCE)
            s[part] = np.einsum("ij,ij->i", xb[q[part]], xb[c[part]])
        best = s >= min_similarity
        rows.append(q[best])
        cols.append(c[best])
        sims.append(s[best])
    q, c, s = np.concatenate(rows), np.concatenate(cols), np.concatenate(sims)
    lo, hi = np.minimum(q, c), np.maximum(q, c)
    pair = lo.astype(np.int64) * n + hi
    _, first = np.unique(pair, return_index=True)
    order = first[np.argsort(-s[first], kind="stable")]
    ia, ib = ids[lo[order]].astype(np.int64), ids[hi[order]].astype(np.int64)
    return Edges(np.minimum(ia, ib), np.maximum(ia, ib), s[order].astype(np.float32))
