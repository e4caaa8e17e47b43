"""The index's SQLite catalog: one row per image, with its vector.

SQLite is the source of truth: each image's path, content hash, size, mtime, the
model that embedded it, and the vector itself (float32 blob). Writes are
transactions, so an interrupted run keeps every batch it committed and nothing
half-written. The FAISS file is a cache derived from this table; it carries the
catalog's ``generation`` in its name and is rebuilt when the two disagree.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    path TEXT UNIQUE NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    phash INTEGER NOT NULL,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS images_sha256 ON images (sha256);
-- Local features for geometric verification, cached by file content and method.
CREATE TABLE IF NOT EXISTS local_features (
    sha256 TEXT NOT NULL,
    method TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (sha256, method)
);
"""


@dataclass(frozen=True)
class ImageRecord:
    """One indexed image (without its vector)."""

    id: int
    path: str
    sha256: str
    size: int
    mtime_ns: int
    width: int
    height: int


@dataclass(frozen=True)
class NewImage:
    """An embedded image ready to be written."""

    path: str
    sha256: str
    size: int
    mtime_ns: int
    width: int
    height: int
    vector: np.ndarray
    phash: int


class Catalog:
    """Thin typed wrapper over the SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers are not blocked by a writer
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- meta -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, items: dict[str, str]) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", items.items()
            )

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # -- transactions -----------------------------------------------------------
    def transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # -- images -----------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0])

    def records(self) -> Iterator[ImageRecord]:
        cur = self._db.execute(
            "SELECT id, path, sha256, size, mtime_ns, width, height FROM images ORDER BY id"
        )
        for row in cur:
            yield ImageRecord(*row)

    def paths(self, ids: Iterable[int]) -> dict[int, str]:
        ids = [int(i) for i in ids]
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):  # SQLite's bound-variable limit
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT id, path FROM images WHERE id IN ({marks})", chunk)
            out.update((int(i), str(p)) for i, p in rows)
        return out

    def twin(self, sha256: str, model: str) -> tuple[np.ndarray, int, int, int] | None:
        """Vector, width, height and pHash of an indexed file with this content, if any."""
        row = self._db.execute(
            "SELECT vector, width, height, phash FROM images WHERE sha256 = ? AND model = ? LIMIT 1",
            (sha256, model),
        ).fetchone()
        if row is None:
            return None
        return np.frombuffer(row[0], dtype=np.float32).copy(), int(row[1]), int(row[2]), int(row[3])

    def record(self, image_id: int) -> ImageRecord | None:
        row = self._db.execute(
            "SELECT id, path, sha256, size, mtime_ns, width, height FROM images WHERE id = ?", (image_id,)
        ).fetchone()
        return None if row is None else ImageRecord(*row)

    def get_features(self, sha256: str, method: str) -> bytes | None:
        row = self._db.execute(
            "SELECT data FROM local_features WHERE sha256 = ? AND method = ?", (sha256, method)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def put_features(self, sha256: str, method: str, data: bytes) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO local_features (sha256, method, data) VALUES (?, ?, ?)",
                (sha256, method, data),
            )

    def phashes(self) -> tuple[np.ndarray, np.ndarray]:
        """All ``(ids, phashes)`` as int64 arrays."""
        rows = self._db.execute("SELECT id, phash FROM images ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0].copy(), arr[:, 1].copy()

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """All ``(ids, vectors)``, in id order."""
        rows = self._db.execute("SELECT id, vector FROM images ORDER BY id").fetchall()
        if not rows:
            return np.empty(0, np.int64), np.empty((0, 0), np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        xb = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        return ids, xb

    def insert(self, images: list[NewImage], model: str) -> tuple[np.ndarray, np.ndarray]:
        """Insert images, replacing rows with the same path.

        Returns:
            ``(new_ids, replaced_ids)``.
        """
        ids, replaced = [], []
        now = time.time()
        with self.transaction():
            for im in images:
                old = self._db.execute("SELECT id FROM images WHERE path = ?", (im.path,)).fetchone()
                if old is not None:
                    replaced.append(old[0])
                    self._db.execute("DELETE FROM images WHERE id = ?", (old[0],))
                cur = self._db.execute(
                    "INSERT INTO images (path, sha256, size, mtime_ns, width, height, model, "
                    "vector, phash, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        im.path, im.sha256, im.size, im.mtime_ns, im.width, im.height, model,
                        np.ascontiguousarray(im.vector, dtype=np.float32).tobytes(), im.phash, now,
                    ),
                )
                ids.append(cur.lastrowid)
            self._bump_generation()
        return np.asarray(ids, dtype=np.int64), np.asarray(replaced, dtype=np.int64)

    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new mtime for a file whose content did not change."""
        with self.transaction():
            self._db.execute(
                "UPDATE images SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path)
            )

    def delete(self, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        if not ids:
            return
        with self.transaction():
            self._db.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in ids])
            self._bump_generation()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
