"""A local cache of local features (for geometric verification), for indexes whose
catalog is not a file of ours (Milvus): keyed by file content and extractor, in
``$XDG_CACHE_HOME/selfsim/features/<key>.sqlite``. Losing it costs only time."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

from selfsim.index.feature_budget import evict_features
from selfsim.index.memory_cache import MemoryCache

log = logging.getLogger(__name__)


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "selfsim" / "features"


class FeatureCache:
    """``(sha256, method) -> bytes``, shared by every process on this machine that
    searches the same collection (``key`` names it). A cache that cannot be written
    (read-only home, full disk) is done without."""

    def __init__(self, key: str) -> None:
        self.path = cache_folder() / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.sqlite"
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._memory = MemoryCache()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS local_features (sha256 TEXT NOT NULL, method TEXT NOT NULL, "
                             "data BLOB NOT NULL, PRIMARY KEY (sha256, method))")
        except (OSError, sqlite3.Error) as e:
            log.info("no local feature cache at %s: %s", self.path, e)
            self._db = None

    def get(self, sha256: str, method: str) -> bytes | None:
        with self._lock:
            held = self._memory.get((sha256, method))
            if held is not None:
                return held
            if self._db is None:
                return None
            try:
                row = self._db.execute("SELECT data FROM local_features WHERE sha256 = ? AND method = ?",
                                       (sha256, method)).fetchone()
            except sqlite3.Error:
                return None
            return None if row is None else bytes(row[0])

    def put(self, sha256: str, method: str, data: bytes) -> None:
        with self._lock:
            if self._db is None:
                self._memory.put((sha256, method), data)
                return
            try:
                self._db.execute("INSERT OR REPLACE INTO local_features (sha256, method, data) VALUES (?, ?, ?)",
                                 (sha256, method, data))
                evict_features(self._db)
            except sqlite3.Error as e:
                log.info("cannot cache local features in %s: %s", self.path, e)
                self._memory.put((sha256, method), data)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


__all__ = ["FeatureCache", "cache_folder"]
