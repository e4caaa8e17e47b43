"""Retrieval metrics with class labels: every picture queries all the others.

- **mAP**: mean over queries of the average precision over the whole ranking.
- **mAP@R** (Musgrave et al., "A Metric Learning Reality Check", ECCV 2020): with R
  the number of other pictures of the query's class, the average precision over the
  first R hits only, so a ranking is rewarded for putting *all* of its class first.
- **recall@k**: share of queries with at least one picture of their class in the first k.
- **precision@k**: share of the first k hits that are of the query's class.
- **kNN accuracy**: share of queries whose k nearest others vote for their class
  (ties go to the class of the nearest of the tied).

Queries whose class has no other picture are left out (nothing can be found).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Query rows ranked at once: (rows x N) similarities and ranks in memory.
ROWS_AT_ONCE = 256


@dataclass(frozen=True)
class RetrievalMetrics:
    """Attributes:
    map: mean average precision over the whole ranking.
    map_at_r: mean average precision at R.
    recall_at: k -> recall@k.
    precision_at: k -> precision@k.
    knn_accuracy: kNN classification accuracy with ``knn`` neighbours.
    knn: neighbours that vote.
    n_queries: queries scored (those whose class has another picture).
    n_database: pictures ranked for each query (the query itself left out).
    """

    map: float
    map_at_r: float
    recall_at: dict[int, float] = field(default_factory=dict)
    precision_at: dict[int, float] = field(default_factory=dict)
    knn_accuracy: float = 0.0
    knn: int = 5
    n_queries: int = 0
    n_database: int = 0


def cosine_similarity(xq: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """(nq, d), (nb, d) unit vectors -> (nq, nb) cosine similarity."""
    return np.asarray(xq @ xb.T, dtype=np.float32)


def hamming_similarity(xq: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """(nq, bits), (nb, bits) bools -> (nq, nb) 1 - Hamming distance / bits, by two
    matrix products (no (nq, nb, bits) array)."""
    a, b = xq.astype(np.float32), xb.astype(np.float32)
    distance = a @ (1 - b).T + (1 - a) @ b.T
    return 1.0 - distance / xq.shape[1]


def retrieval_metrics(
    xb: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    *,
    similarity: str = "cosine",
    ks: Sequence[int] = (1, 5, 10),
    knn: int = 5,
    queries: np.ndarray | None = None,
) -> RetrievalMetrics:
    """Leave-one-out retrieval over ``xb`` with ``labels``.

    Args:
        xb: (n, d) unit vectors (``similarity="cosine"``) or (n, bits) bools
            (``"hamming"``, perceptual hashes).
        labels: (n,) class of each row.
        queries: row numbers that query (default: all); the rest only get ranked.
            A sample keeps large labelled sets affordable: each query ranks all n.
    """
    sim = {"cosine": cosine_similarity, "hamming": hamming_similarity}.get(similarity)
    if sim is None:
        raise ValueError(f"unknown similarity '{similarity}'; choose from: cosine, hamming")
    n = len(xb)
    if len(labels) != n:
        raise ValueError(f"{n} vectors but {len(labels)} labels")
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    counts = np.bincount(y)
    rows = np.arange(n) if queries is None else np.asarray(queries, dtype=np.int64)
    rows = rows[counts[y[rows]] > 1]
    ks = sorted({int(k) for k in ks if 0 < k < n})
    sums = {"ap": 0.0, "ap_r": 0.0, "knn": 0.0}
    hit_at = dict.fromkeys(ks, 0.0)
    prec_at = dict.fromkeys(ks, 0.0)
    for start in range(0, len(rows), ROWS_AT_ONCE):
        q = rows[start : start + ROWS_AT_ONCE]
        s = sim(xb[q], xb)
        s[np.arange(len(q)), q] = -np.inf  # the query itself goes last, then is cut
        order = np.argsort(-s, axis=1, kind="stable")[:, : n - 1]
        rel = y[order] == y[q][:, None]  # (nq, n-1)
        r = counts[y[q]] - 1  # other pictures of the query's class
        tp = np.cumsum(rel, axis=1)
        precision = tp / np.arange(1, n)
        sums["ap"] += float(((precision * rel).sum(1) / r).sum())
        in_r = np.arange(n - 1)[None, :] < r[:, None]
        sums["ap_r"] += float(((precision * rel * in_r).sum(1) / r).sum())
        for k in ks:
            hit_at[k] += float((tp[:, k - 1] > 0).sum())
            prec_at[k] += float((tp[:, k - 1] / k).sum())
        sums["knn"] += float(sum(_vote(y[order[i, :knn]]) == y[qi] for i, qi in enumerate(q)))
    m = max(len(rows), 1)
    return RetrievalMetrics(
        map=sums["ap"] / m,
        map_at_r=sums["ap_r"] / m,
        recall_at={k: v / m for k, v in hit_at.items()},
        precision_at={k: v / m for k, v in prec_at.items()},
        knn_accuracy=sums["knn"] / m,
        knn=knn,
        n_queries=len(rows),
        n_database=n - 1,
    )


def _vote(neighbour_classes: np.ndarray) -> int:
    """The most frequent class, nearest first among ties."""
    values, first, counts = np.unique(neighbour_classes, return_index=True, return_counts=True)
    best = counts == counts.max()
    return int(values[best][np.argmin(first[best])])
