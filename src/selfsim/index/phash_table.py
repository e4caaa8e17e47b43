"""Every indexed image's 64-bit pHash, packed for Hamming search without Python objects.

A derived cache like the vector store: written beside it as ``phashes-<generation>.npy``
(ids and hashes, int64, two rows), read as one array when opened, and rebuilt from the
catalog when missing or out of step. Searches run on FAISS's binary flat index
(bit counts over packed bytes), built on the first search.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from selfsim.atomic import atomic_write


class PhashTable:
    """``ids`` and ``hashes`` (int64 each, same order)."""

    def __init__(self, ids: np.ndarray, hashes: np.ndarray) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.hashes = np.asarray(hashes, dtype=np.int64)
        self._index: faiss.IndexBinaryFlat | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, hq: np.ndarray, max_distance: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each int64 pHash in ``hq``, the ``(ids, distances)`` within ``max_distance`` bits."""
        hq = np.ascontiguousarray(hq, dtype=np.int64)
        if len(self.ids) == 0 or len(hq) == 0:
            return [(np.empty(0, np.int64), np.empty(0, np.int32)) for _ in hq]
        if self._index is None:
            self._index = faiss.IndexBinaryFlat(64)
            self._index.add(np.ascontiguousarray(self.hashes).view(np.uint8).reshape(-1, 8))
        # FAISS counts distances below the radius: within max_distance is < max_distance + 1.
        lims, D, I = self._index.range_search(hq.view(np.uint8).reshape(-1, 8), max_distance + 1)
        out = []
        for q in range(len(hq)):
            rows = np.sort(I[lims[q]:lims[q + 1]])  # in catalog order, as before
            found = self.ids[rows]
            out.append((found, np.bitwise_count((self.hashes[rows] ^ hq[q]).view(np.uint64)).astype(np.int32)))
        return out

    def save(self, path: Path) -> None:
        table = np.stack([self.ids, self.hashes])

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.save(f, table)

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> PhashTable:
        """Raises FileNotFoundError, or ValueError when the file is not such a table."""
        table = np.load(path, allow_pickle=False)  # 16 bytes an image: read whole, no mapping left open
        if table.ndim != 2 or table.shape[0] != 2 or table.dtype != np.int64:
            raise ValueError(f"{path} is not a pHash table")
        return cls(table[0], table[1])


__all__ = ["PhashTable"]
