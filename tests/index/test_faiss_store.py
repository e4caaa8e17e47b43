from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from selfsim.index.faiss_store import REDUCED_DIM, FaissStore
from selfsim.index.store import RebuildNeeded, resolve_kind


def _unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _embedding_like(n: int, d: int, seed: int) -> np.ndarray:
    """Unit vectors whose variance falls off over their directions, as embeddings' does."""
    rng = np.random.default_rng(seed)
    scale = (1.0 + np.arange(d)) ** -0.6
    x = (rng.normal(size=(n, d)) * scale + 0.3 * scale).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _graph(xb: np.ndarray, ids: np.ndarray) -> FaissStore:
    """An HNSW store whose full vectors come from ``xb`` (as the catalog's do)."""
    row = {int(i): r for r, i in enumerate(ids)}
    store = FaissStore(xb.shape[1], "hnsw", exact=lambda wanted: xb[[row[int(i)] for i in wanted]])
    store.add(ids, xb)
    return store


def test_flat_store_is_exact_search_in_float16(tmp_path: Path) -> None:
    xb, xq = _unit(200, 32, 0), _unit(10, 32, 1)
    ids = np.arange(1000, 1200)
    store = FaissStore(32, "flat")
    store.add(ids, xb)
    D, I = store.search(xq, 5)
    S = xq @ xb.T
    ref = np.argsort(-S, axis=1)[:, :5]
    assert np.array_equal(I, ids[ref])
    assert np.allclose(D, np.take_along_axis(S, ref, 1), atol=1e-3)  # float16 vectors
    assert np.allclose(store.reconstruct(ids[:3]), xb[:3], atol=1e-3)

    store.remove(ids[ref[:, 0]])
    _, I2 = store.search(xq, 1)
    assert not np.isin(I2, ids[ref[:, 0]]).any()

    store.save(tmp_path / "v.faiss")
    again = FaissStore.load(tmp_path / "v.faiss")
    assert len(again) == len(store) and again.kind == "flat"
    assert np.array_equal(again.search(xq, 3)[1], store.search(xq, 3)[1])


def test_hnsw_over_reduced_vectors_finds_the_exact_top_10() -> None:
    d = REDUCED_DIM + 64  # the graph holds fewer numbers than the vectors
    xb, xq = _embedding_like(3000, d, 2), _embedding_like(60, d, 3)
    ids = np.arange(3000) * 7
    store = _graph(xb, ids)
    D, I = store.search(xq, 10)
    S = xq @ xb.T
    exact = np.argsort(-S, axis=1)[:, :10]
    recall = np.mean([len(set(ids[e]) & set(i)) / 10 for e, i in zip(exact, I)])
    assert recall >= 0.95
    # The scores are exact ones, not the graph's approximations.
    found = I[:, 0] == ids[exact[:, 0]]
    assert np.allclose(D[found, 0], S[found, exact[found, 0]], atol=1e-5)


def test_hnsw_needs_the_full_vectors_to_score() -> None:
    store = FaissStore(16, "hnsw")
    store.add(np.arange(50), _unit(50, 16, 0))
    with pytest.raises(Exception, match="full vectors"):
        store.search(_unit(1, 16, 1), 3)


def test_hnsw_removes_by_tombstones_without_a_rebuild(tmp_path: Path) -> None:
    xb, xq = _unit(2000, 32, 4), _unit(40, 32, 5)
    extra = xq[:1]
    table = np.concatenate([xb, extra])
    store = FaissStore(32, "hnsw", exact=lambda wanted: table[np.where(wanted == 5000, 2000, wanted)])
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
    store.add(np.array([5000]), extra)  # a new one can
    assert store.search(xq[:1], 1)[1][0, 0] == 5000

    store.save(tmp_path / "h.faiss")  # the file keeps the graph; the catalog says what is live
    again = FaissStore.load(tmp_path / "h.faiss", exact=store.exact)
    assert again.kind == "hnsw"
    assert again.serve(np.sort(np.append(live, 5000))) is None
    assert np.array_equal(again.search(xq, 5)[1], store.search(xq, 5)[1])
    assert again.serve(np.arange(10)) is not None  # too many gone: rebuild instead


def test_stores_of_an_older_selfsim_are_refused_for_a_rebuild(tmp_path: Path) -> None:
    import faiss

    old = faiss.IndexIDMap2(faiss.IndexFlatIP(8))  # float32 vectors: selfsim before format 3
    old.add_with_ids(_unit(5, 8, 0), np.arange(5, dtype=np.int64))
    faiss.write_index(old, str(tmp_path / "old.faiss"))
    with pytest.raises(ValueError, match="not a vector store of this selfsim"):
        FaissStore.load(tmp_path / "old.faiss")


def test_empty_store_and_auto_kind() -> None:
    store = FaissStore(8)
    D, I = store.search(_unit(2, 8, 0), 3)
    assert (I == -1).all() and np.isneginf(D).all()
    assert resolve_kind("auto", 10) == "flat" and resolve_kind("auto", 10**6) == "hnsw"


def test_ivfpq_codes_with_exact_rescoring_find_the_top_10_and_delete(tmp_path: Path) -> None:
    d = REDUCED_DIM + 64
    xb, xq = _embedding_like(4000, d, 6), _embedding_like(60, d, 7)
    ids = np.arange(4000) + 10
    row = {int(i): r for r, i in enumerate(ids)}
    store = FaissStore(d, "ivfpq", exact=lambda wanted: xb[[row[int(i)] for i in wanted]])
    store.add(ids, xb)
    assert store.trained and len(store) == 4000
    S = xq @ xb.T
    exact = ids[np.argsort(-S, axis=1)[:, :10]]
    _, I = store.search(xq, 10)
    assert np.mean([len(set(e) & set(i)) / 10 for e, i in zip(exact, I)]) >= 0.9
    store.remove(exact[:, 0])  # IVF lists delete for real: no tombstones
    assert len(store) == 4000 - len(set(exact[:, 0].tolist())) and store.dead_share == 0
    _, I2 = store.search(xq, 5)
    assert not np.isin(I2, exact[:, 0]).any()
    store.save(tmp_path / "ivf.faiss")
    again = FaissStore.load(tmp_path / "ivf.faiss", exact=store.exact)
    assert again.kind == "ivfpq" and len(again) == len(store)
    assert np.array_equal(again.search(xq, 5)[1], I2)
    live = np.sort(again.ids())
    assert again.serve(live[5:]) is None and len(again) == len(live) - 5  # a few extra: removed


def test_ivfpq_refuses_too_few_vectors_in_one_line() -> None:
    with pytest.raises(Exception, match="at least 1,000 pictures"):
        FaissStore(16, "ivfpq", exact=lambda i: np.zeros((len(i), 16), np.float32)).add(np.arange(50), _unit(50, 16, 0))


def test_auto_kind_follows_size_and_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_kind("auto", 10, 1280, budget=1e9) == "flat"
    assert resolve_kind("auto", 40_000, 1280, budget=50e6) == "hnsw"  # 40,000 x 2.5 KB does not fit
    assert resolve_kind("auto", 1_000_000, 1280, budget=4e9) == "hnsw"
    assert resolve_kind("auto", 10_000_000, 1280, budget=4e9) == "ivfpq"
    assert resolve_kind("hnsw", 10, 1280, budget=1.0) == "hnsw"  # asked for: kept
    monkeypatch.setenv("SELFSIM_MEMORY_BUDGET", "0.001")
    assert resolve_kind("auto", 10_000, 1280) == "ivfpq"
    monkeypatch.setenv("SELFSIM_MEMORY_BUDGET", "lots")
    with pytest.raises(Exception, match="SELFSIM_MEMORY_BUDGET"):
        resolve_kind("auto", 10, 1280)


def _inner_product_graph(xb: np.ndarray, ids: np.ndarray, path: Path) -> None:
    """A store file as selfsim wrote it before graphs were Euclidean: the same reduction
    feeding an inner-product HNSW graph."""
    import faiss

    from selfsim.index import faiss_store

    d = xb.shape[1]
    hnsw = faiss.IndexHNSWFlat(REDUCED_DIM, 16, faiss.METRIC_INNER_PRODUCT)
    pre = faiss.IndexPreTransform(faiss.LinearTransform(d, REDUCED_DIM, False), hnsw)
    pre.is_trained = False
    faiss_store._fit_reduction(pre, xb)
    index = faiss.IndexIDMap2(pre)
    index.add_with_ids(xb, ids)
    faiss.write_index(index, str(path))


def test_new_graphs_are_euclidean_over_one_extra_number_and_old_inner_product_ones_still_work(tmp_path: Path) -> None:
    d = REDUCED_DIM + 64
    xb, xq = _embedding_like(2000, d, 6), _embedding_like(30, d, 7)
    ids = np.arange(2000) + 10
    row = {int(i): r for r, i in enumerate(ids)}

    def exact(wanted: np.ndarray) -> np.ndarray:
        return xb[[row[int(i)] for i in wanted]]

    S = xq @ xb.T
    truth = ids[np.argsort(-S, axis=1)[:, :10]]

    def recall(store: FaissStore) -> float:
        I = store.search(xq, 10)[1]
        return float(np.mean([len(set(t) & set(i)) / 10 for t, i in zip(truth, I)]))

    new = _graph(xb[:1500], ids[:1500])
    new.exact = exact
    new.add(ids[1500:], xb[1500:])  # added later: through the same path
    assert new._augmented() and new._graph().d == REDUCED_DIM + 1
    assert len(new) == 2000 and np.array_equal(np.sort(new.ids()), ids)
    assert recall(new) >= 0.95
    new.save(tmp_path / "new.faiss")
    again = FaissStore.load(tmp_path / "new.faiss", exact)
    assert again._augmented() and np.array_equal(again.search(xq, 10)[1], new.search(xq, 10)[1])

    _inner_product_graph(xb[:1500], ids[:1500], tmp_path / "old.faiss")
    old = FaissStore.load(tmp_path / "old.faiss", exact)
    assert old.kind == "hnsw" and not old._augmented()
    old.add(ids[1500:], xb[1500:])
    assert len(old) == 2000 and recall(old) >= 0.9


def test_an_index_rebuilds_an_older_inner_product_graph_at_its_next_save(tmp_path: Path) -> None:
    from selfsim.index.catalog import NewImage
    from selfsim.index.index import Index, ModelRef

    d = REDUCED_DIM + 64
    xb = _embedding_like(400, d, 8)
    model = ModelRef("synthetic", "synthetic", {"model": None}, d)
    with Index.create(tmp_path / "pics.idx", model, kind="hnsw") as index:
        index.catalog.insert([NewImage(f"/p/{i}.jpg", f"{i:064x}", 1, 1, 1, 1, v, i) for i, v in enumerate(xb)],
                             model.fingerprint)
        index.save()
        ids, store_file = index.catalog.ids(), index._store_file()
    _inner_product_graph(xb, np.asarray(ids, np.int64), store_file)  # as an older selfsim left it
    with Index.open(tmp_path / "pics.idx", writable=True) as index:
        assert index.store.outdated
        index.save()
    with Index.open(tmp_path / "pics.idx") as index:
        assert not index.store.outdated and len(index.store) == 400
        assert index.search(xb[:3], 1)[1][:, 0].tolist() == list(ids[:3])
