from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from selfsim.index.store import FaissStore, resolve_kind


def _unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_store_equals_exact_search(tmp_path: Path) -> None:
    xb, xq = _unit(200, 32, 0), _unit(10, 32, 1)
    ids = np.arange(1000, 1200)
    store = FaissStore(32, "flat")
    store.add(ids, xb)
    D, I = store.search(xq, 5)
    S = xq @ xb.T
    ref = np.argsort(-S, axis=1)[:, :5]
    assert np.array_equal(I, ids[ref])
    assert np.allclose(D, np.take_along_axis(S, ref, 1), atol=1e-5)

    store.remove(ids[ref[:, 0]])
    D2, I2 = store.search(xq, 1)
    assert not np.isin(I2, ids[ref[:, 0]]).any()

    store.save(tmp_path / "v.faiss")
    again = FaissStore.load(tmp_path / "v.faiss")
    assert len(again) == len(store) and again.kind == "flat"
    assert np.array_equal(again.search(xq, 3)[1], store.search(xq, 3)[1])


def test_hnsw_recall_against_exact() -> None:
    xb, xq = _unit(2000, 32, 2), _unit(50, 32, 3)
    store = FaissStore(32, "hnsw")
    store.add(np.arange(2000), xb)
    _, I = store.search(xq, 1)
    exact = np.argmax(xq @ xb.T, axis=1)
    assert (I[:, 0] == exact).mean() >= 0.95


def test_hnsw_removes_by_tombstones_without_a_rebuild(tmp_path) -> None:
    from selfsim.index.store import RebuildNeeded

    xb, xq = _unit(2000, 32, 4), _unit(40, 32, 5)
    store = FaissStore(32, "hnsw")
    store.add(np.arange(2000), xb)
    exact = np.argmax(xq @ xb.T, axis=1)
    store.remove(np.concatenate([exact, [99999]]))  # each query's best match goes; unknown ids are ignored
    assert len(store) == 2000 - len(set(exact.tolist())) and store.dead_share > 0
    _, I = store.search(xq, 5)
    assert not np.isin(I, exact).any() and (I >= 0).all()
    live = np.setdiff1d(np.arange(2000), exact)
    assert np.array_equal(np.sort(store.ids()), live)
    with pytest.raises(RebuildNeeded):
        store.add(exact[:1], xb[exact[:1]])  # a removed id cannot come back into the graph
    store.add(np.array([5000]), xq[:1])  # a new one can
    assert store.search(xq[:1], 1)[1][0, 0] == 5000

    store.save(tmp_path / "h.faiss")  # the file keeps the graph; the catalog says what is live
    again = FaissStore.load(tmp_path / "h.faiss")
    assert again.serve(np.sort(np.append(live, 5000))) is None
    assert np.array_equal(again.search(xq, 5)[1], store.search(xq, 5)[1])
    assert again.serve(np.arange(10)) is not None  # too many gone: rebuild instead


def test_empty_store_and_auto_kind() -> None:
    store = FaissStore(8)
    D, I = store.search(_unit(2, 8, 0), 3)
    assert (I == -1).all() and np.isneginf(D).all()
    assert resolve_kind("auto", 10) == "flat" and resolve_kind("auto", 10**6) == "hnsw"
