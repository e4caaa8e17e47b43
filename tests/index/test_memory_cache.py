from __future__ import annotations

from selfsim.index.memory_cache import MemoryCache


def test_least_recently_used_entries_leave_once_past_the_budget() -> None:
    cache = MemoryCache(budget=1000)
    for i in range(3):
        cache.put(i, bytes(400))
    assert 0 not in cache and cache.size == 800 and len(cache) == 2
    assert cache.get(1) is not None  # 1 is now the most recently used
    cache.put(3, bytes(400))
    assert 2 not in cache and 1 in cache and 3 in cache
    cache.put(1, bytes(100))  # replacing an entry counts its new size
    assert cache.size == 500
    cache.put(9, bytes(5000))  # one entry larger than the budget is still kept, alone
    assert len(cache) == 1 and cache.get(9) is not None
