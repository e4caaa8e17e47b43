"""The vector store of a Milvus index: the collection itself.

A Milvus row carries its vector beside its record, so the catalog's insert and
delete already change what this store searches; ``add`` and ``remove`` have nothing
left to do. Searches are Milvus's own (the index type in the address).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from selfsim.index.milvus_catalog import MilvusCatalog


class MilvusStore:
    """:class:`~selfsim.index.store.VectorStore` over a :class:`MilvusCatalog`'s collection."""

    trained_on = 0

    def __init__(self, catalog: MilvusCatalog) -> None:
        self.catalog = catalog
        self.kind = catalog.address.index_type.lower()

    @property
    def dead_share(self) -> float:
        return 0.0  # Milvus deletes for real (and compacts on its own)

    def __len__(self) -> int:
        return len(self.catalog)

    def add(self, ids: np.ndarray, xb: np.ndarray) -> None:
        """Nothing to do: the rows were written with their vectors."""

    def remove(self, ids: np.ndarray) -> None:
        """Nothing to do: the rows were deleted with their vectors."""

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.catalog.search(np.ascontiguousarray(xq, dtype=np.float32), k)

    def save(self, path: Path) -> None:
        """Nothing to write here: Milvus keeps the collection."""
        self.catalog.flush()


__all__ = ["MilvusStore"]
