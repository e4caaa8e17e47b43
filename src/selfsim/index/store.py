"""Vector stores: the small interface selfsim searches through, and how a kind is chosen.

The interface (add, remove, search, save) is all that the index and search code
use, so a distributed vector database (Milvus) can stand behind the same commands.
Vectors are unit length and compared by inner product (= cosine similarity).

Kinds, chosen from the collection's size and a memory budget as autofaiss does (``auto``):

``flat``
    Exact search over float16 vectors: every query reads them all (2 bytes a number),
    up to :data:`EXACT_SEARCH_LIMIT` vectors.
``hnsw``
    An HNSW graph over vectors reduced to 128 numbers (the principal directions of the
    collection's own vectors) finds a shortlist, which is then scored exactly against
    the full vectors kept in the catalog. About 0.9 KB of memory a vector.
``ivfpq``
    Inverted lists of 32-byte product-quantised codes of the reduced vectors, with the
    same exact scoring of a (longer) shortlist: about 40 bytes a vector, for collections
    whose graph would not fit the budget.

Neither approximate kind holds a full vector, so each vector is stored once, in the
catalog. The budget is half of this machine's memory, or ``SELFSIM_MEMORY_BUDGET`` (GB).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from selfsim.errors import SelfsimError
from selfsim.names import STORE_KINDS as _STORE_KINDS

#: Collections up to this size are searched exactly (when their vectors fit the budget).
EXACT_SEARCH_LIMIT = 50_000
#: Memory a vector costs in each kind, beyond its id (bytes; HNSW: 128 reduced numbers
#: and 96 links on the base layer; IVF-PQ: its code). Flat: 2 bytes a number.
HNSW_BYTES = 128 * 4 + 96 * 4
IVFPQ_BYTES = 32
#: An HNSW store whose removed vectors (tombstones) pass this share of it is rebuilt.
COMPACT_SHARE = 0.25

STORE_KINDS = _STORE_KINDS

#: Where a store that keeps no full vectors reads them for exact scores: ids -> (n, d).
ExactVectors = Callable[[np.ndarray], np.ndarray]


class RebuildNeeded(SelfsimError):
    """An id comes back that an HNSW store holds as removed: only a rebuild can take it."""


class VectorStore(Protocol):
    """What an index needs from a vector store: :class:`~selfsim.index.faiss_store.FaissStore`
    (a folder index) or :class:`~selfsim.index.milvus_store.MilvusStore` (a Milvus collection)."""

    kind: str
    #: Vectors the store's fitted parts were fitted on in this process (0: none, or unknown).
    trained_on: int

    def __len__(self) -> int: ...

    @property
    def dead_share(self) -> float:
        """Share of the stored vectors that are removed but still held (tombstones)."""

    def add(self, ids: np.ndarray, xb: np.ndarray) -> None:
        """Add vectors ``xb`` (n, d) float32 under int64 ``ids`` (n,)."""

    def remove(self, ids: np.ndarray) -> None:
        """Remove the vectors with these ids (unknown ids are ignored)."""

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(D, I)``: similarities and ids (n, k), best first; id -1 pads."""

    def save(self, path: Path) -> None:
        """Write the store to one file, atomically."""


def memory_budget() -> float:
    """Bytes the vector store may take: ``SELFSIM_MEMORY_BUDGET`` (GB), else half of memory."""
    value = os.environ.get("SELFSIM_MEMORY_BUDGET")
    if value:
        try:
            budget = float(value) * 1e9
        except ValueError:
            raise SelfsimError(f"SELFSIM_MEMORY_BUDGET is {value!r}; give gigabytes, e.g. 4 or 0.5") from None
        if budget > 0:
            return budget
        raise SelfsimError(f"SELFSIM_MEMORY_BUDGET is {value!r}; give a positive number of gigabytes")
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2
    except (ValueError, OSError, AttributeError):
        return 8e9


def resolve_kind(kind: str, n: int, dim: int = 1280, budget: float | None = None) -> str:
    """The kind of store to build for ``n`` vectors of ``dim`` numbers when ``kind`` was
    asked for: ``auto`` is flat up to :data:`EXACT_SEARCH_LIMIT` vectors, then HNSW,
    then IVF-PQ, each while it fits the memory budget."""
    if kind not in STORE_KINDS:
        raise SelfsimError(f"unknown index type '{kind}'; choose from: {', '.join(STORE_KINDS)}")
    if kind != "auto":
        return kind
    budget = memory_budget() if budget is None else budget
    if n <= EXACT_SEARCH_LIMIT and n * (2 * dim + 8) <= budget:
        return "flat"
    return "hnsw" if n * (HNSW_BYTES + 8) <= budget else "ivfpq"


__all__ = ["COMPACT_SHARE", "EXACT_SEARCH_LIMIT", "STORE_KINDS", "ExactVectors", "RebuildNeeded",
           "VectorStore", "memory_budget", "resolve_kind"]
