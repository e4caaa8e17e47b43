"""Vector stores: the small interface selfsim searches through, and its FAISS backend.

The interface (add, remove, search, save) is all that the index and search code
use, so a distributed vector database (Milvus) can stand behind the same commands.
Vectors are unit length and compared by inner product (= cosine similarity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np

from selfsim.atomic import atomic_write
from selfsim.errors import SelfsimError
from selfsim.names import STORE_KINDS as _STORE_KINDS

#: Collections up to this size are searched exactly; larger ones with HNSW.
EXACT_SEARCH_LIMIT = 100_000
#: HNSW search depth: recall@10 0.97 at 100,000 embedding-like vectors, against 0.90 at
#: 128, for 5.6 instead of 3.0 ms a query (benchmarks/vector_store.py --ef-search).
HNSW_EF_SEARCH = 256
#: An HNSW store whose removed vectors (tombstones) pass this share of it is rebuilt.
COMPACT_SHARE = 0.25


class RebuildNeeded(SelfsimError):
    """An id comes back that an HNSW store holds as removed: only a rebuild can take it."""
STORE_KINDS = _STORE_KINDS


class VectorStore(Protocol):
    """What an index needs from a vector store."""

    kind: str

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, xb: np.ndarray) -> None:
        """Add vectors ``xb`` (n, d) float32 under int64 ``ids`` (n,)."""

    def remove(self, ids: np.ndarray) -> None:
        """Remove the vectors with these ids (unknown ids are ignored)."""

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(D, I)``: similarities and ids (n, k), best first; id -1 pads."""

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors (n, d) of these ids."""

    def save(self, path: Path) -> None:
        """Write the store to one file, atomically."""


def resolve_kind(kind: str, n: int) -> str:
    if kind not in STORE_KINDS:
        raise SelfsimError(f"unknown index type '{kind}'; choose from: {', '.join(STORE_KINDS)}")
    if kind == "auto":
        return "flat" if n <= EXACT_SEARCH_LIMIT else "hnsw"
    return kind


class FaissStore:
    """FAISS ``IndexIDMap2`` over an exact (``flat``) or HNSW (``hnsw``) index.

    HNSW graphs cannot delete vectors: a removed vector stays in the graph as a
    tombstone that searches skip (a FAISS ID selector), so adds and deletes never
    rebuild the graph. The owner compacts (rebuilds) the store once tombstones pass
    :data:`COMPACT_SHARE` of it, and when an id it holds as removed comes back
    (:class:`RebuildNeeded`).
    """

    def __init__(self, dim: int, kind: str = "flat", hnsw_m: int = 32) -> None:
        self.kind = kind
        self.dim = dim
        inner: faiss.Index
        if kind == "flat":
            inner = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            inner = hnsw
        else:
            raise SelfsimError(f"unknown index type '{kind}'; choose from: flat, hnsw")
        self._index: faiss.Index = faiss.IndexIDMap2(inner)
        self._dead: set[int] = set()  # HNSW: removed ids still in the graph
        self._skip: Any = None  # search parameters that skip them, made once per change

    @property
    def supports_remove(self) -> bool:
        return True  # flat: removed from the index; HNSW: tombstoned

    @property
    def dead_share(self) -> float:
        """Share of the stored vectors that are tombstones."""
        return len(self._dead) / max(1, int(self._index.ntotal))

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._dead)

    def add(self, ids: np.ndarray, xb: np.ndarray) -> None:
        """Raises :class:`RebuildNeeded` (adding nothing) when an id is a tombstone."""
        if len(ids):
            if self._dead and not self._dead.isdisjoint(int(i) for i in ids):
                raise RebuildNeeded("an id removed from this HNSW store is added again")
            xb = np.ascontiguousarray(xb, dtype=np.float32)
            self._index.add_with_ids(xb, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self.kind == "flat":
            self._index.remove_ids(ids)  # type: ignore[arg-type]
            return
        present = np.isin(ids, self._all_ids())  # unknown ids are ignored
        self._dead.update(int(i) for i in ids[present])
        self._skip = None

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        xq = np.ascontiguousarray(xq, dtype=np.float32)
        if len(self) == 0:
            return (np.full((len(xq), k), -np.inf, np.float32), np.full((len(xq), k), -1, np.int64))
        if self._dead:
            D, I = self._index.search(xq, k, params=self._skip_params(k))
        else:
            D, I = self._index.search(xq, k)
        D[I < 0] = -np.inf
        return D, I

    def _skip_params(self, k: int) -> Any:
        """HNSW search parameters that skip the tombstones (kept until they change)."""
        if self._skip is None:
            batch = faiss.IDSelectorBatch(np.fromiter(self._dead, np.int64))
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.sel = faiss.IDSelectorNot(batch)
            self._skip = (params, batch)  # the selectors must outlive the parameters
        params = self._skip[0]
        params.efSearch = max(HNSW_EF_SEARCH, k)
        return params

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.dim), np.float32)
        for row, i in enumerate(ids):
            out[row] = self._index.reconstruct(int(i))
        return out

    def ids(self) -> np.ndarray:
        """The live ids (tombstones left out), in insertion order."""
        every = self._all_ids()
        return every[~np.isin(every, np.fromiter(self._dead, np.int64))] if self._dead else every

    def _all_ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)  # type: ignore[attr-defined]

    def serve(self, ids: np.ndarray) -> str | None:
        """Make this store serve exactly ``ids`` (sorted; the catalog's): ids it holds
        beyond them become tombstones when it is HNSW and they are few. Returns why it
        cannot (then it must be rebuilt), or None."""
        held = np.sort(self._all_ids())
        if np.array_equal(held, ids) and not self._dead:
            return None
        if self.kind != "hnsw" or not np.isin(ids, held).all() or len(held) != len(np.unique(held)):
            return f"holds {len(self)} vectors for {len(ids)} catalog rows" if len(self) != len(ids) \
                else "holds other ids than the catalog"
        extra = held[~np.isin(held, ids)]
        if len(extra) > COMPACT_SHARE * len(held):
            return f"holds {len(extra)} removed vectors of {len(held)}"
        self._dead = {int(i) for i in extra}
        self._skip = None
        return None

    def save(self, path: Path) -> None:
        # Serialised in memory and written by Python, so a full disk is an OSError (ENOSPC).
        data = faiss.serialize_index(self._index)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(data.tobytes())

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        """Read a store written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            RuntimeError, ValueError: the file is damaged or not such a store.
        """
        with open(path, "rb") as f:
            data = np.frombuffer(f.read(), dtype=np.uint8)
        index = faiss.deserialize_index(data)
        if not isinstance(index, faiss.IndexIDMap2):
            index = faiss.downcast_index(index)
            if not isinstance(index, faiss.IndexIDMap2):
                raise ValueError(f"{path} is not a selfsim vector store")
        inner = faiss.downcast_index(index.index)
        if not isinstance(inner, faiss.IndexFlatIP | faiss.IndexHNSW):
            raise ValueError(f"{path} is not a selfsim vector store")
        kind = "hnsw" if isinstance(inner, faiss.IndexHNSW) else "flat"
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = HNSW_EF_SEARCH  # a search setting, not part of the data
        store = cls.__new__(cls)
        store.kind, store.dim, store._index, store._dead, store._skip = kind, index.d, index, set(), None
        return store
