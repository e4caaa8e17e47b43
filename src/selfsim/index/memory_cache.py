"""A bounded in-memory cache of bytes: least recently used entries leave first once
the entries together pass a budget. Holds local features where no file can (a
read-only catalog's own extractions, a feature cache without a writable folder)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

#: Bytes held in memory by default: about 900 pictures' SIFT features.
MEMORY_BUDGET = 256 * 1024 * 1024


class MemoryCache:
    def __init__(self, budget: int = MEMORY_BUDGET) -> None:
        self.budget = budget
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size

    def get(self, key: Hashable) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: Hashable, data: bytes) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._items[key] = data
        self._size += len(data)
        while self._size > self.budget and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._size -= len(dropped)


__all__ = ["MEMORY_BUDGET", "MemoryCache"]
