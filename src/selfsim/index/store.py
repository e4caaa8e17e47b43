"""Vector stores: the small interface selfsim searches through, and its FAISS backend.

The interface (add, remove, search, save) is all that the index and search code
use, so a distributed vector database (Milvus) can stand behind the same commands.
Vectors are unit length and compared by inner product (= cosine similarity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from selfsim.atomic import atomic_write
from selfsim.errors import SelfsimError
from selfsim.names import STORE_KINDS as _STORE_KINDS

#: Collections up to this size are searched exactly; larger ones with HNSW.
EXACT_SEARCH_LIMIT = 100_000
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

    HNSW graphs cannot delete vectors; :attr:`supports_remove` is False for them and
    the owner rebuilds the store from its own copy of the vectors instead.
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
            hnsw.hnsw.efSearch = 128
            inner = hnsw
        else:
            raise SelfsimError(f"unknown index type '{kind}'; choose from: flat, hnsw")
        self._index: faiss.Index = faiss.IndexIDMap2(inner)

    @property
    def supports_remove(self) -> bool:
        return self.kind == "flat"

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, xb: np.ndarray) -> None:
        if len(ids):
            xb = np.ascontiguousarray(xb, dtype=np.float32)
            self._index.add_with_ids(xb, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        if not self.supports_remove:
            raise SelfsimError("this store cannot remove vectors; rebuild it")
        self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        xq = np.ascontiguousarray(xq, dtype=np.float32)
        if len(self) == 0:
            return (np.full((len(xq), k), -np.inf, np.float32), np.full((len(xq), k), -1, np.int64))
        D, I = self._index.search(xq, k)
        D[I < 0] = -np.inf
        return D, I

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.dim), np.float32)
        for row, i in enumerate(ids):
            out[row] = self._index.reconstruct(int(i))
        return out

    def ids(self) -> np.ndarray:
        """The stored ids, in insertion order."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)  # type: ignore[attr-defined]

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
        store = cls.__new__(cls)
        store.kind, store.dim, store._index = kind, index.d, index
        return store
