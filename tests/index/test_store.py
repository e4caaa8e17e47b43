from __future__ import annotations

from pathlib import Path

import numpy as np

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
    assert not store.supports_remove


def test_empty_store_and_auto_kind() -> None:
    store = FaissStore(8)
    D, I = store.search(_unit(2, 8, 0), 3)
    assert (I == -1).all() and np.isneginf(D).all()
    assert resolve_kind("auto", 10) == "flat" and resolve_kind("auto", 10**6) == "hnsw"
