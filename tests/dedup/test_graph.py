"""The candidate graph against brute force, on seeded vectors with planted copies:
in memory, projected, searched with HNSW, and read through a real catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from selfsim.dedup import graph
from selfsim.dedup.graph import neighbour_graph, principal_axes, source_graph
from selfsim.dedup.sources import ArrayVectors, CatalogVectors
from selfsim.errors import IndexStateError
from selfsim.index.catalog import Catalog, NewImage


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


def as_dict(edges: graph.Edges) -> dict[tuple[int, int], float]:
    return {(int(a), int(b)): float(s) for a, b, s in zip(edges.a, edges.b, edges.similarity)}


class Counting:
    """A source that counts what the graph reads: passes over all rows, rows fetched."""

    def __init__(self, inner: ArrayVectors) -> None:
        self.inner, self.ids, self.dim = inner, inner.ids, inner.dim
        self.passes, self.taken = 0, 0

    def __len__(self) -> int:
        return len(self.inner)

    def batches(self, size: int):  # type: ignore[no-untyped-def]
        self.passes += 1
        yield from self.inner.batches(size)

    def take(self, rows: np.ndarray) -> np.ndarray:
        assert np.all(np.diff(rows) > 0)  # sorted and unique, as promised
        self.taken += len(rows)
        return self.inner.take(rows)


# exact_limit, ann_limit: full dimension; the projection searched exactly; the projection with HNSW
@pytest.mark.parametrize("exact_limit, ann_limit", [(10_000, 10_000), (100, 10_000), (100, 100)])
def test_every_planted_copy_is_an_edge_with_its_true_similarity(exact_limit: int, ann_limit: int) -> None:
    ids, xb, pairs = planted(2000, 150)
    floor = 0.9
    edges = neighbour_graph(ids, xb, k=5, min_similarity=floor, reduce_to=32, exact_limit=exact_limit,
                            ann_limit=ann_limit, chunk=500)
    found, truth = as_dict(edges), brute_force(ids, xb, floor)
    assert pairs <= set(truth)  # the planted copies are above the floor...
    assert set(found) == set(truth)  # ...and the graph finds exactly the pairs brute force finds
    for pair, s in found.items():
        assert s == pytest.approx(truth[pair], abs=1e-5)
    assert all(a < b for a, b in found)
    assert list(edges.similarity) == sorted(edges.similarity, reverse=True)


def test_projected_search_reads_once_and_fetches_only_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph, "PCA_SAMPLE", 300)
    monkeypatch.setattr(graph, "PAIRS_AT_ONCE", 16)  # rescoring in many small fetches
    ids, xb, pairs = planted(3000, 100)
    source = Counting(ArrayVectors(ids, xb))
    edges = source_graph(source, k=5, min_similarity=0.9, reduce_to=32, exact_limit=100, ann_limit=100, chunk=256)
    assert pairs <= set(as_dict(edges))
    assert source.passes == 1  # the full vectors are read through once...
    assert source.taken <= 300 + 2 * len(edges) + 2 * 16  # ...then only a sample and the pairs' two ends
    # A low floor lets many more pairs through, each with its true cosine.
    low = source_graph(ArrayVectors(ids, xb), k=5, min_similarity=0.3, reduce_to=32, exact_limit=100)
    a, b = np.searchsorted(ids, low.a), np.searchsorted(ids, low.b)
    assert len(low) > 10 * len(pairs) and low.similarity.min() >= 0.3
    assert np.allclose(low.similarity, np.einsum("ij,ij->i", xb[a], xb[b]), atol=1e-5)


def test_the_bound_holds_for_any_axes() -> None:
    """x.y <= p_x.p_y + |r_x| |r_y| with p on orthonormal axes, even fitted elsewhere."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    axes = principal_axes(rng.standard_normal((200, 64)).astype(np.float32), 8)
    assert np.allclose(axes @ axes.T, np.eye(8), atol=1e-5)
    p = x @ axes.T
    rest = np.sqrt(np.maximum(1 - (p * p).sum(1), 0))
    assert np.all(x @ x.T <= p @ p.T + np.outer(rest, rest) + 1e-5)


def test_catalog_source_gives_the_same_graph_as_memory(tmp_path: Path) -> None:
    ids, xb, pairs = planted(700, 40, d=64)
    catalog = Catalog(tmp_path / "catalog.sqlite")
    rows = [NewImage(f"/p/{i}.jpg", f"{i:064x}", 1, 0, 64, 48, v, 0) for i, v in enumerate(xb)]
    stored = catalog.insert(rows, "m")[0]
    catalog.delete(stored[::7].tolist())  # gaps in the ids
    wanted = np.setdiff1d(stored, stored[::7])[5:]  # and rows the graph is not asked about
    keep = np.isin(stored, wanted)
    stored_x = xb.astype(np.float16).astype(np.float32)  # as the catalog keeps them
    expected = neighbour_graph(wanted, stored_x[keep], k=5, min_similarity=0.9)  # full dimension, in memory
    got = source_graph(CatalogVectors(catalog, 64, wanted), k=5, min_similarity=0.9, reduce_to=16,
                       exact_limit=50, ann_limit=50, chunk=64)
    assert as_dict(got).keys() == as_dict(expected).keys()
    assert np.allclose(got.similarity, expected.similarity, atol=1e-5)
    asked = {(int(stored[a - 100]), int(stored[b - 100])) for a, b in pairs} & set(as_dict(expected))
    assert len(asked) > 20 and all(np.isin(pair, wanted).all() for pair in asked)
    catalog.delete([int(wanted[3])])  # a writer changed the catalog since the ids were taken
    with pytest.raises(IndexStateError, match="changed while it was read"):
        source_graph(CatalogVectors(catalog, 64, wanted))
    with pytest.raises(IndexStateError, match=f"no image with id {wanted[3]}"):
        source_graph(CatalogVectors(catalog, 64, wanted), reduce_to=16, exact_limit=50)


def test_tiny_collections() -> None:
    assert len(neighbour_graph(np.array([1]), np.ones((1, 4), np.float32))) == 0
    xb = np.eye(2, 4, dtype=np.float32)
    assert len(neighbour_graph(np.array([1, 2]), xb, min_similarity=0.5)) == 0
    edges = neighbour_graph(np.array([7, 3]), np.vstack([xb[0], xb[0]]), min_similarity=0.5)
    assert (int(edges.a[0]), int(edges.b[0])) == (3, 7) and edges.similarity[0] == pytest.approx(1.0)
