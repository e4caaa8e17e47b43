"""The index's SQLite catalog: one row per image, with its vector.

SQLite is the source of truth: each image's path, content hash, size, mtime, the
model that embedded it, and the vector itself (a float16 blob: half the size of
float32, and cosine similarities within 1e-4 of it; format 2 stored float32, still read). Writes are
transactions, so an interrupted run keeps every batch it committed and nothing
half-written. The FAISS file is a cache derived from this table; it carries the
catalog's ``generation`` in its name and is rebuilt when the two disagree.

Paths are stored as the file system's bytes (``os.fsencode``), so a name that is
not UTF-8 (old disks, Samba shares, zip archives) round-trips exactly; in Python
they are ``str`` with such bytes as lone surrogates (``os.fsdecode``).

A read-only catalog reads one consistent snapshot from opening until
:meth:`Catalog.refresh` or close, however a writer changes the file meanwhile.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import numpy as np

from selfsim.errors import IndexDamagedError, IndexStateError
from selfsim.index.feature_budget import evict_features
from selfsim.index.memory_cache import MemoryCache

log = logging.getLogger(__name__)
T = TypeVar("T")

#: 3: vectors are float16; 2 (still read) stored float32; 1 (still read, upgraded when
#: written) also stored paths as UTF-8 text instead of the file system's bytes.
SCHEMA_VERSION = 3
READABLE_VERSIONS = ("1", "2", "3")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    path BLOB UNIQUE NOT NULL,
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


def encode_vector(vector: np.ndarray) -> bytes:
    """A vector as the catalog stores it: float16 bytes."""
    return np.ascontiguousarray(vector, dtype=np.float16).tobytes()


def decode_vector(blob: object, dim: int) -> np.ndarray | None:
    """A stored vector as float32 (float16 rows, or float32 ones of format 2), or None
    when the blob is not ``dim`` numbers long."""
    if not isinstance(blob, bytes):
        return None
    if len(blob) == 2 * dim:
        return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
    if len(blob) == 4 * dim:
        return np.frombuffer(blob, dtype=np.float32).copy()
    return None


def encode_path(path: str) -> bytes:
    """A path as the catalog stores it: the file system's bytes."""
    return os.fsencode(path)


def decode_path(value: bytes | str) -> str:
    """A stored path back as ``str`` (text rows come from format 1)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return os.fsdecode(value)
    raise TypeError(f"a path stored as {type(value).__name__}")


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


def _record(row: tuple) -> ImageRecord:
    return ImageRecord(int(row[0]), decode_path(row[1]), *row[2:])


_RECORD_COLUMNS = "id, path, sha256, size, mtime_ns, width, height"


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


def damaged(path: Path, error: BaseException | str) -> IndexDamagedError:
    """The one-line error for a catalog SQLite cannot read."""
    folder = path.parent
    error = " ".join(str(error).split())  # SQLite may quote a schema across lines
    error = error if len(error) <= 160 else error[:157] + "..."
    return IndexDamagedError(
        f"{path} is damaged ({error}); run `selfsim check {folder} --repair`, or index again "
        f"with --rebuild"
    )


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is damaged (not busy, not full)."""
    if type(error) is sqlite3.DatabaseError:  # malformed image, not a database, ...
        return True
    words = ("malformed", "not a database", "corrupt", "decode", "no such column", "no such table", "syntax error")
    return any(word in str(error) for word in words)


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Damage SQLite finds while reading or writing becomes a one-line
    :class:`IndexDamagedError` naming the file; so do values of impossible types."""

    @functools.wraps(method)
    def wrapper(self: Catalog, *args: Any, **kwargs: Any) -> T:
        try:
            with self._lock:  # one connection, shared by a server's threads
                return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            if _is_damage(e):
                raise damaged(self.path, e) from None
            raise
        except (TypeError, ValueError, OverflowError) as e:
            raise damaged(self.path, f"a value of the wrong type: {e}") from None

    return wrapper


class Catalog:
    """Thin typed wrapper over the SQLite file.

    Args:
        path: the SQLite file.
        readonly: open without writing anything (a read-only mount or backup works),
            and read one snapshot until :meth:`refresh`. Local features are still
            cached when the file happens to be writable.
    """

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._cache_db: sqlite3.Connection | None = None
        self._cache_failed = False
        self._written = MemoryCache()  # features this reader cached after its snapshot began
        # Every use of the connection holds this lock, so one catalog may serve several
        # threads (``selfsim serve``); SQLite's own check is off for the same reason.
        self._lock = threading.RLock()
        try:
            if readonly:
                self._db = _connect_readonly(path)
                self._begin_snapshot()
            else:
                self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")  # readers are not blocked by a writer
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise IndexStateError(f"{path} is locked by another process; try again") from None
            raise damaged(path, e) from None
        except ValueError as e:  # text SQLite keeps that is not UTF-8: a damaged file
            raise damaged(path, e) from None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self.readonly and self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._db.close()
        if self._cache_db is not None:
            self._cache_db.close()

    def _begin_snapshot(self) -> None:
        self._db.execute("BEGIN")
        self._db.execute("SELECT COUNT(*) FROM meta").fetchone()  # the snapshot starts here

    def refresh(self) -> None:
        """Read-only catalogs: end the snapshot and start one that sees the latest writes."""
        if self.readonly:
            with self._lock:
                self._db.execute("ROLLBACK")
                self._begin_snapshot()

    # -- meta -------------------------------------------------------------------
    @_guarded
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @_guarded
    def meta(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    @_guarded
    def set_meta(self, items: dict[str, str]) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", items.items()
            )

    @property
    def generation(self) -> int:
        value = self.get_meta("generation") or "0"
        try:
            return int(value)
        except ValueError:
            raise IndexDamagedError(
                f"{self.path}: meta 'generation' is {value!r}, not a number; run "
                f"`selfsim check {self.path.parent} --repair`"
            ) from None

    # -- transactions -----------------------------------------------------------
    def transaction(self) -> _Transaction:
        if self.readonly:
            raise IndexStateError(f"{self.path} was opened read-only")
        return _Transaction(self._db)

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    @_guarded
    def upgrade(self) -> int:
        """Formats 1 and 2 to 3: text paths become their UTF-8 bytes (returns rows
        changed); float32 vectors stay as they are (read as such) until replaced."""
        with self.transaction():
            cur = self._db.execute("UPDATE images SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'")
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
        return int(cur.rowcount)

    # -- images -----------------------------------------------------------------
    @_guarded
    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0])

    @_guarded
    def ids(self) -> np.ndarray:
        rows = self._db.execute("SELECT id FROM images ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    @_guarded
    def records(self) -> list[ImageRecord]:
        rows = self._db.execute(f"SELECT {_RECORD_COLUMNS} FROM images ORDER BY id").fetchall()
        return [_record(row) for row in rows]

    @_guarded
    def paths(self, ids: Iterable[int]) -> dict[int, str]:
        ids = [int(i) for i in ids]
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):  # SQLite's bound-variable limit
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT id, path FROM images WHERE id IN ({marks})", chunk)
            out.update((int(i), decode_path(p)) for i, p in rows)
        return out

    @_guarded
    def twin(self, sha256: str, model: str, dim: int) -> tuple[np.ndarray, int, int, int] | None:
        """Vector, width, height and pHash of an indexed file with this content, if any
        (and its vector is ``dim`` numbers long)."""
        row = self._db.execute(
            "SELECT vector, width, height, phash FROM images WHERE sha256 = ? AND model = ? LIMIT 1",
            (sha256, model),
        ).fetchone()
        if row is None:
            return None
        vector = decode_vector(row[0], dim)
        if vector is None:
            return None
        return vector, int(row[1]), int(row[2]), int(row[3])

    @_guarded
    def record_at(self, path: str) -> ImageRecord | None:
        """The record of the file indexed at ``path``, if any."""
        row = self._db.execute(f"SELECT {_RECORD_COLUMNS} FROM images WHERE path = ?",
                               (encode_path(path),)).fetchone()
        return None if row is None else _record(row)

    @_guarded
    def record(self, image_id: int) -> ImageRecord | None:
        row = self._db.execute(f"SELECT {_RECORD_COLUMNS} FROM images WHERE id = ?", (image_id,)).fetchone()
        return None if row is None else _record(row)

    @_guarded
    def get_features(self, sha256: str, method: str) -> bytes | None:
        written = self._written.get((sha256, method))
        if written is not None:
            return written
        row = self._db.execute(
            "SELECT data FROM local_features WHERE sha256 = ? AND method = ?", (sha256, method)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def put_features(self, sha256: str, method: str, data: bytes) -> None:
        """Cache local features; a read-only catalog writes them through a second
        connection when the file allows it, and otherwise does without the cache."""
        with self._lock:
            self._put_features(sha256, method, data)

    def _put_features(self, sha256: str, method: str, data: bytes) -> None:
        row = ("INSERT OR REPLACE INTO local_features (sha256, method, data) VALUES (?, ?, ?)",
               (sha256, method, data))
        if not self.readonly:
            with self.transaction():
                self._db.execute(*row)
                evict_features(self._db)
            return
        self._written.put((sha256, method), data)
        if self._cache_failed:
            return
        try:
            if self._cache_db is None:
                self._cache_db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0,
                                                 check_same_thread=False)
                # A cache: a power cut may lose its last entries (detected again), never the
                # catalog; no fsync per entry (0.3 ms an entry instead of 1-11 ms here).
                self._cache_db.execute("PRAGMA synchronous=NORMAL")
            with _Transaction(self._cache_db):
                self._cache_db.execute(*row)
                evict_features(self._cache_db)
        except sqlite3.Error as e:
            log.info("cannot cache local features in %s: %s", self.path, e)
            self._cache_failed = True

    @_guarded
    def phashes(self) -> tuple[np.ndarray, np.ndarray]:
        """All ``(ids, phashes)`` as int64 arrays."""
        rows = self._db.execute("SELECT id, phash FROM images ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0].copy(), arr[:, 1].copy()

    @_guarded
    def vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """All ``(ids, vectors)``, in id order.

        Raises:
            IndexDamagedError: a stored vector is not ``dim`` floats long.
        """
        n = len(self)
        ids, xb = np.empty(n, np.int64), np.empty((0, dim), np.float32)
        at = 0
        for chunk_ids, chunk in self.iter_vectors(dim):  # never every blob and the array at once
            if at == 0:  # allocated once a batch has the right length: a damaged dim must not ask for gigabytes
                xb = np.empty((n, dim), np.float32)
            ids[at : at + len(chunk_ids)], xb[at : at + len(chunk_ids)] = chunk_ids, chunk
            at += len(chunk_ids)
        return ids[:at], xb[:at]

    def iter_vectors(self, dim: int, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All ``(ids, vectors)`` in id order, ``batch`` rows at a time: a collection
        larger than memory can be read through.

        Raises:
            IndexDamagedError: a stored vector is not ``dim`` floats long.
        """
        try:
            cur = self._db.execute("SELECT id, vector FROM images ORDER BY id")
            while rows := cur.fetchmany(batch):
                yield self._unpack(rows, dim)
        except sqlite3.DatabaseError as e:
            if _is_damage(e):
                raise damaged(self.path, e) from None
            raise

    @_guarded
    def vectors_of(self, ids: np.ndarray, dim: int) -> np.ndarray:
        """The stored vectors ``(len(ids), dim)`` of these ids, in their order.

        Raises:
            IndexStateError: an id is not in the catalog.
            IndexDamagedError: a stored vector is not ``dim`` floats long.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) <= 900:  # a search's shortlist: one statement, no sorting
            return self._few_vectors(ids, dim)
        order = np.argsort(ids, kind="stable")
        xb = np.empty((len(ids), dim), np.float32)
        for start in range(0, len(ids), 900):  # SQLite's bound-variable limit
            part = order[start : start + 900]
            wanted = ids[part]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT id, vector FROM images WHERE id IN ({marks}) ORDER BY id", wanted.tolist()
            ).fetchall()
            got, vectors = self._unpack(rows, dim)
            at = np.minimum(np.searchsorted(got, wanted), max(len(got) - 1, 0))  # repeats read once
            lost = np.ones(len(part), bool) if len(got) == 0 else got[at] != wanted
            if lost.any():
                raise IndexStateError(f"{self.path} has no image with id {int(wanted[lost][0])}")
            xb[part] = vectors[at]
        return xb

    def _few_vectors(self, ids: np.ndarray, dim: int) -> np.ndarray:
        wanted = ids.tolist()
        got = dict(self._db.execute(
            f"SELECT id, vector FROM images WHERE id IN ({','.join('?' * len(wanted))})", wanted).fetchall())
        try:
            blobs = [got[i] for i in wanted]
        except KeyError as e:
            raise IndexStateError(f"{self.path} has no image with id {e.args[0]}") from None
        if all(isinstance(b, bytes) and len(b) == 2 * dim for b in blobs):  # the common case, at once
            return np.frombuffer(b"".join(blobs), np.float16).reshape(len(blobs), dim).astype(np.float32)
        return self._unpack(list(zip(wanted, blobs, strict=True)), dim)[1]

    def _unpack(self, rows: list[tuple[int, bytes]], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of ``(id, blob)`` rows, each blob checked to be ``dim`` numbers."""
        bad = [i for i, blob in rows if not isinstance(blob, bytes) or len(blob) not in (2 * dim, 4 * dim)]
        if bad:
            raise IndexDamagedError(
                f"{self.path}: the stored vector of image {bad[0]}"
                + (f" (and {len(bad) - 1} more in its batch)" if len(bad) > 1 else "")
                + f" is not {dim} numbers long (a damaged catalog); run "
                f"`selfsim check {self.path.parent} --repair`, then index again"
            )
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if all(len(blob) == 2 * dim for _, blob in rows):  # the common case: one conversion
            half = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float16)
            return ids, half.reshape(len(rows), dim).astype(np.float32)
        xb = np.empty((len(rows), dim), np.float32)
        for row, (_, blob) in enumerate(rows):
            xb[row] = decode_vector(blob, dim)
        return ids, xb

    @_guarded
    def vector_rows(self) -> list[tuple[int, bytes | object, str]]:
        """``(id, vector blob, model)`` of every row, unchecked (for ``selfsim check``)."""
        return self._db.execute("SELECT id, vector, model FROM images ORDER BY id").fetchall()

    @_guarded
    def insert(self, images: list[NewImage], model: str) -> tuple[np.ndarray, np.ndarray]:
        """Insert images, replacing rows with the same path.

        Returns:
            ``(new_ids, replaced_ids)``.
        """
        ids, replaced = [], []
        now = time.time()
        with self.transaction():
            for im in images:
                key = encode_path(im.path)
                old = self._db.execute("SELECT id FROM images WHERE path = ?", (key,)).fetchone()
                if old is not None:
                    replaced.append(old[0])
                    self._db.execute("DELETE FROM images WHERE id = ?", (old[0],))
                cur = self._db.execute(
                    "INSERT INTO images (path, sha256, size, mtime_ns, width, height, model, "
                    "vector, phash, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key, im.sha256, im.size, im.mtime_ns, im.width, im.height, model,
                        encode_vector(im.vector), im.phash, now,
                    ),
                )
                ids.append(cur.lastrowid)
            self._bump_generation()
        return np.asarray(ids, dtype=np.int64), np.asarray(replaced, dtype=np.int64)

    @_guarded
    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new mtime for a file whose content did not change."""
        with self.transaction():
            self._db.execute(
                "UPDATE images SET size = ?, mtime_ns = ? WHERE path = ?",
                (size, mtime_ns, encode_path(path)),
            )

    @_guarded
    def delete(self, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        if not ids:
            return
        with self.transaction():
            self._db.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in ids])
            self._bump_generation()

    @_guarded
    def replace_all(self, source: Path, meta: dict[str, str]) -> None:
        """Replace every image with those of another catalog file, in one transaction
        (``--rebuild``: readers see the old collection or the new one, never a mix)."""
        self._db.execute("ATTACH DATABASE ? AS staged", (str(source),))
        try:
            with self.transaction():
                self._db.execute("DELETE FROM images")
                self._db.execute("INSERT INTO images SELECT * FROM staged.images")
                self._db.execute("INSERT OR IGNORE INTO local_features SELECT * FROM staged.local_features")
                self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
                self._bump_generation()
        finally:
            self._db.execute("DETACH DATABASE staged")

    @_guarded
    def integrity(self) -> list[str]:
        """SQLite's own check: an empty list when the file is sound."""
        rows = [str(r[0]) for r in self._db.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """Raw access for ``selfsim check --repair``."""
        return self._db.execute(sql, params)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Open without writing: ``mode=ro``, or ``immutable=1`` where SQLite cannot even
    create its shared-memory file (a read-only folder, where nothing can be writing)."""
    uri = "file:" + quote(os.fsencode(os.path.abspath(path)))
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=30.0,
                         check_same_thread=False)
    try:
        db.execute("SELECT COUNT(*) FROM meta").fetchone()
    except sqlite3.OperationalError as e:
        db.close()
        if "unable to open" not in str(e) and "readonly" not in str(e):
            raise
        db = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False)
    # Read pages through a memory map (as far as SQLite allows, 2 GB here): a search's
    # shortlist of vectors costs about 4 instead of 7 microseconds a row. A reader never
    # truncates the file, and in WAL mode no writer does.
    db.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
    return db


_MMAP_BYTES = 1 << 36


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            self._db.execute("ROLLBACK")
