"""How much of local features an index keeps: a budget in bytes, and eviction of the
oldest entries past it (features are a cache; evicted ones are detected again)."""

from __future__ import annotations

import os
import sqlite3

#: About what one picture's local features take in the cache (2,000 SIFT keypoints).
FEATURES_BYTES = 280_000


def feature_cache_bytes() -> int:
    """The most bytes of local features an index caches (``SELFSIM_FEATURE_CACHE_MB``,
    default 2,048 MB: about 7,500 pictures at 2,000 SIFT keypoints, 270 KB each)."""
    raw = os.environ.get("SELFSIM_FEATURE_CACHE_MB", "")
    try:
        mb = float(raw) if raw else 2048.0
    except ValueError:
        mb = 2048.0
    return int(max(mb, 0.0) * 1024 * 1024)


def evict_features(db: sqlite3.Connection, budget: int | None = None) -> int:
    """Delete the oldest cached local features (first in, first out) until the cache
    holds at most 90 % of ``budget`` bytes, once it holds more than ``budget``; returns
    how many were deleted. Features are only a cache: evicted ones are detected again
    when needed."""
    budget = feature_cache_bytes() if budget is None else budget
    total = db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM local_features").fetchone()[0]
    if total <= budget:
        return 0
    over, deleted = total - int(0.9 * budget), 0
    for rowid, size in db.execute("SELECT rowid, LENGTH(data) FROM local_features ORDER BY rowid").fetchall():
        if over <= 0:
            break
        db.execute("DELETE FROM local_features WHERE rowid = ?", (rowid,))
        over -= size
        deleted += 1
    return deleted


__all__ = ["FEATURES_BYTES", "evict_features", "feature_cache_bytes"]
