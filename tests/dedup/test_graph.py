"""The candidate graph against brute force, on seeded vectors with planted copies."""

from __future__ import annotations

import numpy as np
import pytest

from selfsim.dedup.graph import neighbour_graph


def planted(n: int, copies: int, d: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray, set[tuple[int, int]]]:
    """n vectors of low intrinsic dimension (as embeddings are), plus near copies of some."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((32, d)).astype(np.float32)
    x = rng.standard_normal((n, 32)).astype(np.float32) @ basis + 0.3 * rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    originals = rng.choice(n, size=copies, replace=False)
    dup = x[originals] + 0.25 * rng.standard_normal((copies, d)).astype(np.float32) / np.sqrt(d)  # cosine ~0.97
    dup /= np.linalg.norm(dup, axis=1, keepdims=True)
    xb = np.vstack([x, dup]).astype(np.float32)
    ids = np.arange(100, 100 + len(xb), dtype=np.int64)  # catalog ids are not row numbers
    pairs = {(int(ids[o]), int(ids[n + i])) for i, o in enumerate(originals)}
    return ids, xb, pairs


def brute_force(ids: np.ndarray, xb: np.ndarray, floor: float) -> dict[tuple[int, int], float]:
    S = xb @ xb.T
    a, b = np.nonzero(np.triu(S >= floor, 1))
    return {(int(ids[i]), int(ids[j])): float(S[i, j]) for i, j in zip(a, b)}


@pytest.mark.parametrize("exact_limit", [10_000, 100])  # full dimension, and the PCA path
def test_every_planted_copy_is_an_edge_with_its_true_similarity(exact_limit: int) -> None:
    ids, xb, pairs = planted(2000, 150)
    floor = 0.9
    edges = neighbour_graph(ids, xb, k=5, min_similarity=floor, reduce_to=32, exact_limit=exact_limit)
    found = {(int(a), int(b)): float(s) for a, b, s in zip(edges.a, edges.b, edges.similarity)}
    truth = brute_force(ids, xb, floor)
    assert pairs <= set(truth)  # the planted copies are above the floor...
    assert set(found) == set(truth)  # ...and the graph finds exactly the pairs brute force finds
    for pair, s in found.items():
        assert s == pytest.approx(truth[pair], abs=1e-5)
    assert all(a < b for a, b in found)
    assert list(edges.similarity) == sorted(edges.similarity, reverse=True)


def test_tiny_collections() -> None:
    assert len(neighbour_graph(np.array([1]), np.ones((1, 4), np.float32))) == 0
    xb = np.eye(2, 4, dtype=np.float32)
    assert len(neighbour_graph(np.array([1, 2]), xb, min_similarity=0.5)) == 0
    edges = neighbour_graph(np.array([7, 3]), np.vstack([xb[0], xb[0]]), min_similarity=0.5)
    assert (int(edges.a[0]), int(edges.b[0])) == (3, 7) and edges.similarity[0] == pytest.approx(1.0)
