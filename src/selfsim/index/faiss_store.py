"""The FAISS vector store: exact float16 search, or an approximate index over reduced
vectors (an HNSW graph, or IVF-PQ codes) whose shortlist is scored exactly (see
:mod:`selfsim.index.store` for the kinds and how one is chosen).

The HNSW graph is built with Euclidean distances, not inner products. Reduced vectors
are shorter than 1 by varying amounts, and a graph linked by inner products between
them is poorly connected: recall@10 at 1,000,000 stopped near 0.95 however deep the
search. So each stored reduced vector ``r`` gets one more number, ``sqrt(1 - |r|^2)``,
and each query a 0 there: then Euclidean order equals inner-product order, and the
graph is built in a true metric space (the maximum-inner-product-to-nearest-neighbour
reduction of Bachrach et al., RecSys 2014). Stores of older selfsims (inner-product
graphs) are still read, searched and updated as they were."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from selfsim.atomic import atomic_write
from selfsim.errors import SelfsimError
from selfsim.index.store import COMPACT_SHARE, ExactVectors, RebuildNeeded

#: Approximate kinds work on vectors reduced to this many numbers (their principal
#: directions, without centring, so inner products are kept as well as any such map can).
REDUCED_DIM = 128
#: Neighbours per HNSW node, and the build depth: at 1,000,000 vectors recall@10 0.93
#: instead of 0.83 with 32 and 80, for 2.3 times the build (benchmarks/vector_store.py).
HNSW_M = 48
HNSW_EF_CONSTRUCTION = 200
#: HNSW search depth, and how many candidates are scored exactly for a top ``k``: at
#: least ``SHORTLIST``. With the Euclidean graph at 1,000,000 embedding-like vectors
#: (BENCHMARKS.md): on seed 0 (tuning) recall@10 0.970 at 64, 0.978 at 96, then flat;
#: on seed 1 0.923 at 64, 0.949 at 96, 0.959 at 128. 128 holds on both (seed 2 checks it).
HNSW_EF_SEARCH = 128
SHORTLIST = 64
#: IVF-PQ: bytes of code per vector, lists probed per query, and the shortlist (codes
#: are coarser than a graph's vectors, so more candidates are scored exactly).
PQ_BYTES = 32
IVF_NPROBE = 32
IVF_SHORTLIST = 256
#: IVF-PQ needs this many vectors to fit its lists and codes.
IVF_MIN_VECTORS = 1_000
#: Vectors the reduction (and IVF-PQ's lists and codes) are fitted on: a random sample.
REDUCTION_SAMPLE = 100_000

_KINDS = ("flat", "hnsw", "ivfpq")


class FaissStore:
    """Exact float16 vectors (``flat``), an HNSW graph of reduced vectors (``hnsw``), or
    IVF-PQ codes of reduced vectors (``ivfpq``), each under the catalog's int64 ids.

    HNSW graphs cannot delete vectors: a removed vector stays in the graph as a
    tombstone that searches skip, so adds and deletes never rebuild the graph. The
    owner compacts (rebuilds) the store once tombstones pass
    :data:`~selfsim.index.store.COMPACT_SHARE` of it, and when an id it holds as
    removed comes back (:class:`RebuildNeeded`). Flat and IVF-PQ stores delete.

    The approximate kinds keep no full vectors: ``exact`` (set by the owner) returns
    them for the shortlist they score.
    """

    def __init__(self, dim: int, kind: str = "flat", exact: ExactVectors | None = None) -> None:
        if kind not in _KINDS:
            raise SelfsimError(f"unknown index type '{kind}'; choose from: {', '.join(_KINDS)}")
        self.kind = kind
        self.dim = dim
        self.exact = exact
        if kind == "flat":
            sq = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
            self._index: faiss.Index = faiss.IndexIDMap2(sq)
        elif kind == "hnsw":
            self._index = faiss.IndexIDMap2(_untrained_graph(dim))
        else:
            self._index = _untrained_ivf(dim, 1)  # replaced when trained, with lists for its size
        self._hnsw: faiss.IndexHNSW | None = None
        self.trained_on = 0  # vectors the reduction was fitted on in this process (0: unknown)
        self._set_dead(set())  # HNSW: removed ids still in the graph

    @property
    def trained(self) -> bool:
        return bool(self._index.is_trained)

    @property
    def dead_share(self) -> float:
        """Share of the stored vectors that are tombstones."""
        return len(self._dead) / max(1, int(self._index.ntotal))

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._dead)

    def train(self, sample: np.ndarray, total: int | None = None) -> None:
        """Approximate kinds: fit the reduction (and IVF-PQ's lists and codes) on a
        sample of the collection's vectors (``total`` of them: IVF-PQ sizes its lists by it)."""
        if self.kind == "flat" or self.trained:
            return
        sample = _subsample(np.ascontiguousarray(sample, dtype=np.float32))
        if self.kind == "hnsw":
            _fit_reduction(faiss.downcast_index(self._index.index), sample)
            self._index.is_trained = True
        else:
            if len(sample) < IVF_MIN_VECTORS:
                raise SelfsimError(f"an IVF-PQ index needs at least {IVF_MIN_VECTORS:,} pictures to fit, not "
                                   f"{len(sample):,}; use --type flat or hnsw")
            nlist = int(np.clip(4 * np.sqrt(max(total or 0, len(sample))), 16, len(sample) // 39))
            self._index = _untrained_ivf(self.dim, nlist)
            _fit_reduction(self._index, sample)
            ivf = faiss.downcast_index(self._index.index)
            ivf.train(_reduce(self._index, sample))
            self._index.is_trained = True
        self.trained_on = len(sample)

    def add(self, ids: np.ndarray, xb: np.ndarray) -> None:
        """Raises :class:`RebuildNeeded` (adding nothing) when an id is a tombstone."""
        if len(ids) == 0:
            return
        if self._dead and not self._dead.isdisjoint(int(i) for i in ids):
            raise RebuildNeeded("an id removed from this HNSW store is added again")
        xb = np.ascontiguousarray(xb, dtype=np.float32)
        if not self.trained:
            self.train(xb)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self.kind == "hnsw" and self._augmented():
            self._add_to_graph(ids, xb)
        else:
            self._index.add_with_ids(xb, ids)

    @property
    def outdated(self) -> bool:
        """An inner-product graph of an older selfsim: it searches, but finds less than a
        Euclidean one (see the module's notes); the index rebuilds it at its next save."""
        return self.kind == "hnsw" and not self._augmented()

    def _augmented(self) -> bool:
        """A Euclidean graph over reduced vectors plus one number (this selfsim's), not an
        inner-product graph (older selfsims')."""
        return self._graph().metric_type == faiss.METRIC_L2

    def _add_to_graph(self, ids: np.ndarray, xb: np.ndarray) -> None:
        """Add to a Euclidean graph: reduce, set the extra number, and keep the id map,
        the three layers FAISS's own ``add_with_ids`` would fill."""
        pre = faiss.downcast_index(self._index.index)
        r = _reduce(pre, xb)  # the transform's last row is 0: so is each query's last number
        r[:, -1] = np.sqrt(np.clip(1.0 - np.einsum("ij,ij->i", r[:, :-1], r[:, :-1]), 0.0, None))
        graph = self._graph()
        graph.add(np.ascontiguousarray(r))
        pre.ntotal = graph.ntotal
        held = faiss.vector_to_array(self._index.id_map)  # type: ignore[attr-defined]
        faiss.copy_array_to_vector(np.concatenate([held, ids]), self._index.id_map)  # type: ignore[attr-defined]
        self._index.ntotal = graph.ntotal
        self._index.construct_rev_map()  # type: ignore[attr-defined]

    def remove(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self.kind != "hnsw":
            if self.trained:
                self._index.remove_ids(ids)  # type: ignore[arg-type]
            return
        present = np.isin(ids, self._all_ids())  # unknown ids are ignored
        self._set_dead(self._dead | {int(i) for i in ids[present]})

    def _set_dead(self, dead: set[int]) -> None:
        self._dead = dead
        self._dead_sorted = np.sort(np.fromiter(dead, np.int64, count=len(dead)))

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        xq = np.ascontiguousarray(xq, dtype=np.float32)
        if len(self) == 0 or k <= 0:
            return (np.full((len(xq), k), -np.inf, np.float32), np.full((len(xq), k), -1, np.int64))
        if self.kind == "flat":
            D, I = self._index.search(xq, k)
            D[I < 0] = -np.inf
            return D, I
        return self._search_shortlist(xq, k)

    def _search_shortlist(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates from the graph or the lists, tombstones dropped, then exact scores."""
        if self.exact is None:
            raise SelfsimError(f"an {self.kind.upper()} store needs the full vectors to score its shortlist")
        if self.kind == "hnsw":
            want = max(SHORTLIST, k)
            want += int(np.ceil(want * self.dead_share * 1.5)) if self._dead else 0
            self._graph().hnsw.efSearch = max(HNSW_EF_SEARCH, want)
        else:
            want = max(IVF_SHORTLIST, k)
            faiss.downcast_index(self._index.index).nprobe = IVF_NPROBE
        _, shortlist = self._index.search(xq, want)
        D = np.full((len(xq), k), -np.inf, np.float32)
        I = np.full((len(xq), k), -1, np.int64)
        for row, cand in enumerate(shortlist):
            cand = cand[cand >= 0]
            if len(self._dead_sorted):
                cand = cand[~np.isin(cand, self._dead_sorted)]
            if len(cand) == 0:
                continue
            scores = self.exact(cand) @ xq[row]
            top = np.argsort(-scores, kind="stable")[:k]
            D[row, : len(top)], I[row, : len(top)] = scores[top], cand[top]
        return D, I

    def _graph(self) -> faiss.IndexHNSW:
        if self._hnsw is None:
            self._hnsw = faiss.downcast_index(faiss.downcast_index(self._index.index).index)
        return self._hnsw

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors (n, d) of these ids: the float16 ones of a flat store, and
        the full ones (through ``exact``) of the approximate kinds."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.kind != "flat":
            if self.exact is None:
                raise SelfsimError(f"an {self.kind.upper()} store keeps no full vectors")
            return self.exact(ids)
        out = np.empty((len(ids), self.dim), np.float32)
        for row, i in enumerate(ids):
            out[row] = self._index.reconstruct(int(i))
        return out

    def ids(self) -> np.ndarray:
        """The live ids (tombstones left out)."""
        every = self._all_ids()
        return every[~np.isin(every, self._dead_sorted)] if self._dead else every

    def _all_ids(self) -> np.ndarray:
        if self.kind != "ivfpq":
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)  # type: ignore[attr-defined]
        if not self.trained:
            return np.empty(0, np.int64)
        lists = faiss.downcast_index(self._index.index).invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                 for i in range(lists.nlist) if lists.list_size(i)]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    def serve(self, ids: np.ndarray) -> str | None:
        """Make this store serve exactly ``ids`` (sorted; the catalog's): ids it holds
        beyond them are removed (HNSW: become tombstones) when they are few. Returns why
        it cannot (then it must be rebuilt), or None."""
        held = np.sort(self._all_ids())
        if np.array_equal(held, ids) and not self._dead:
            return None
        if not np.isin(ids, held).all() or len(held) != len(np.unique(held)):
            return f"holds {len(self)} vectors for {len(ids)} catalog rows" if len(self) != len(ids) \
                else "holds other ids than the catalog"
        extra = held[~np.isin(held, ids)]
        if len(extra) > COMPACT_SHARE * len(held):
            return f"holds {len(extra)} removed vectors of {len(held)}"
        if self.kind == "hnsw":
            self._set_dead({int(i) for i in extra})
        else:
            self.remove(extra)
        return None

    def save(self, path: Path) -> None:
        # Serialised in memory and written by Python, so a full disk is an OSError (ENOSPC).
        data = faiss.serialize_index(self._index)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(data.tobytes())

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path, exact: ExactVectors | None = None) -> FaissStore:
        """Read a store written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            RuntimeError, ValueError: the file is damaged, not such a store, or of an
                older selfsim (float32 or full-vector HNSW stores: rebuilt from the catalog).
        """
        with open(path, "rb") as f:
            data = np.frombuffer(f.read(), dtype=np.uint8)
        index = faiss.deserialize_index(data)  # owns what it holds: keep this object
        inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2 | faiss.IndexPreTransform) \
            else None
        if isinstance(index, faiss.IndexIDMap2) and isinstance(inner, faiss.IndexScalarQuantizer) \
                and inner.sq.qtype == faiss.ScalarQuantizer.QT_fp16:
            kind = "flat"
        elif isinstance(index, faiss.IndexIDMap2) and isinstance(inner, faiss.IndexPreTransform) \
                and isinstance(faiss.downcast_index(inner.index), faiss.IndexHNSW):
            kind = "hnsw"
        elif isinstance(index, faiss.IndexPreTransform) and isinstance(inner, faiss.IndexIVFPQ):
            kind = "ivfpq"
        else:
            raise ValueError(f"{path} is not a vector store of this selfsim")
        store = cls.__new__(cls)
        store.kind, store.dim, store.exact, store._index = kind, index.d, exact, index
        store._hnsw, store.trained_on = None, 0
        store._set_dead(set())
        return store


def _untrained_graph(dim: int) -> faiss.Index:
    """Reduction to ``REDUCED_DIM`` numbers plus one (0 for queries; set on adding) and
    a Euclidean HNSW graph over them (see the module's notes)."""
    reduced = min(REDUCED_DIM, dim) + 1
    hnsw = faiss.IndexHNSWFlat(reduced, HNSW_M, faiss.METRIC_L2)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.hnsw.efSearch = HNSW_EF_SEARCH
    index = faiss.IndexPreTransform(faiss.LinearTransform(dim, reduced, False), hnsw)
    index.is_trained = False
    return index


def _untrained_ivf(dim: int, nlist: int) -> faiss.Index:
    reduced = min(REDUCED_DIM, dim)
    pq_bytes = max(b for b in (1, 2, 4, 8, 16, 32, 64) if b <= PQ_BYTES and reduced % b == 0)
    ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(reduced), reduced, nlist, pq_bytes, 8, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexPreTransform(faiss.LinearTransform(dim, reduced, False), ivf)
    index.is_trained = False
    return index


def _subsample(x: np.ndarray) -> np.ndarray:
    if len(x) <= REDUCTION_SAMPLE:
        return x
    rng = np.random.default_rng(0)
    return x[np.sort(rng.choice(len(x), REDUCTION_SAMPLE, replace=False))]


def _fit_reduction(pre: faiss.IndexPreTransform, sample: np.ndarray) -> None:
    """The reduction: the top principal directions of the (uncentred) vectors, so that
    reduced inner products approximate the full ones."""
    transform = faiss.downcast_VectorTransform(pre.chain.at(0))
    # Eigenvectors of the second-moment matrix (float64 for a stable decomposition).
    moment = (sample.astype(np.float64).T @ sample.astype(np.float64)) / max(1, len(sample))
    _, vecs = np.linalg.eigh(moment)
    directions = np.zeros((transform.d_out, transform.d_in), np.float32)  # a graph's extra row stays 0
    top = vecs[:, ::-1][:, : min(transform.d_out, transform.d_in, REDUCED_DIM)].T
    directions[: len(top)] = top
    faiss.copy_array_to_vector(directions.ravel(), transform.A)
    transform.is_trained = True
    pre.is_trained = pre.index.is_trained  # a graph needs nothing more; IVF-PQ still does


def _reduce(pre: faiss.IndexPreTransform, x: np.ndarray) -> np.ndarray:
    return faiss.downcast_VectorTransform(pre.chain.at(0)).apply(x)


__all__ = ["FaissStore", "HNSW_EF_SEARCH", "IVF_NPROBE", "REDUCED_DIM", "SHORTLIST"]
