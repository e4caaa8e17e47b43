"""Where the candidate graph reads its vectors: arrays already in memory, or an index
catalog read through in batches, so that a collection larger than memory (a million
1280-d vectors are 5 GB) is never loaded whole.

The graph asks two things of a source: every vector once, in row order, a batch at a
time; and the vectors of a few chosen rows (a sample, or the two sides of candidate
pairs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from selfsim.errors import IndexStateError
from selfsim.index.catalog import Catalog


class VectorSource(Protocol):
    """Unit vectors of ``dim`` floats, one per row; row ``i`` is catalog id ``ids[i]``."""

    ids: np.ndarray
    dim: int

    def __len__(self) -> int: ...

    def batches(self, size: int) -> Iterator[np.ndarray]:
        """Every row once, in order, as (m, dim) float32 arrays of at most ``size`` rows."""
        ...

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The vectors (len(rows), dim) of these rows (sorted, unique)."""
        ...


class ArrayVectors:
    """Vectors that are in memory already."""

    def __init__(self, ids: np.ndarray, xb: np.ndarray) -> None:
        if xb.ndim != 2 or len(ids) != len(xb):
            raise ValueError(f"need one id per row of a 2-d array, got {len(ids)} ids for shape {xb.shape}")
        self.ids = np.asarray(ids, dtype=np.int64)
        self.xb = np.ascontiguousarray(xb, dtype=np.float32)
        self.dim = self.xb.shape[1]

    def __len__(self) -> int:
        return len(self.ids)

    def batches(self, size: int) -> Iterator[np.ndarray]:
        for start in range(0, len(self.xb), size):
            yield self.xb[start : start + size]

    def take(self, rows: np.ndarray) -> np.ndarray:
        return self.xb[rows]


class CatalogVectors:
    """The stored vectors of some catalog ids, read from SQLite when asked for.

    Args:
        catalog: an open catalog; read it in one snapshot (a read-only catalog does),
            or the rows may change between two passes.
        dim: vector length.
        ids: the catalog ids wanted (others are skipped while reading through).
    """

    def __init__(self, catalog: Catalog, dim: int, ids: np.ndarray) -> None:
        self.catalog = catalog
        self.dim = dim
        self.ids = np.unique(np.asarray(ids, dtype=np.int64))  # the catalog reads in id order

    def __len__(self) -> int:
        return len(self.ids)

    def batches(self, size: int) -> Iterator[np.ndarray]:
        at = 0
        for ids, xb in self.catalog.iter_vectors(self.dim, batch=size):
            wanted = np.isin(ids, self.ids[at : at + len(ids)], assume_unique=True)
            ids, xb = ids[wanted], xb[wanted]
            if not np.array_equal(ids, self.ids[at : at + len(ids)]):
                raise IndexStateError(f"{self.catalog.path} changed while it was read; run the command again")
            at += len(ids)
            if len(ids):
                yield xb
        if at != len(self.ids):
            raise IndexStateError(f"{self.catalog.path} changed while it was read; run the command again")

    def take(self, rows: np.ndarray) -> np.ndarray:
        return self.catalog.vectors_of(self.ids[rows], self.dim)
