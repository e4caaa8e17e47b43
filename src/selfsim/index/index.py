"""An index directory: a SQLite catalog (truth) plus a FAISS vector store (cache).

Layout of ``INDEX/``::

    catalog.sqlite            images, their vectors, and which model made them
    vectors-<generation>.faiss the vector store, named after the catalog generation
    write.lock                held by the one process allowed to write

Opening an index whose FAISS file is missing or stale (an interrupted run)
rebuilds the store from the catalog, so a crash never leaves a broken index.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from selfsim.errors import IndexStateError
from selfsim.index.catalog import SCHEMA_VERSION, Catalog, ImageRecord, NewImage
from selfsim.index.store import FaissStore, resolve_kind
from selfsim.models.phash import hamming

CATALOG_FILE = "catalog.sqlite"
LOCK_FILE = "write.lock"


@dataclass(frozen=True)
class ModelRef:
    """What an index remembers about the model that made its vectors.

    Attributes:
        fingerprint: changes whenever the vectors would change.
        name: shown to users.
        spec: what to pass to ``load_encoder`` to get the model back
            (``{"model": ..., "weights": ...}``).
        dim: vector length.
    """

    fingerprint: str
    name: str
    spec: dict[str, str | None]
    dim: int


def is_index(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / CATALOG_FILE).is_file()


class Index:
    """Open with :meth:`open` (existing) or :meth:`create`; use as a context manager."""

    def __init__(self, path: Path, catalog: Catalog, writable: bool, lock_fd: int | None) -> None:
        self.path = path
        self.catalog = catalog
        self.writable = writable
        self._lock_fd = lock_fd
        self._store: FaissStore | None = None
        self._phashes: tuple[np.ndarray, np.ndarray] | None = None
        self._dirty = False

    # -- opening ----------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], model: ModelRef, kind: str = "auto") -> Index:
        """Make a new, empty index directory (it may exist if it is empty)."""
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise IndexStateError(f"{folder} exists and is not a folder")
        if folder.exists() and any(folder.iterdir()) and not is_index(folder):
            raise IndexStateError(f"{folder} is a non-empty folder that is not a selfsim index")
        if is_index(folder):
            raise IndexStateError(f"{folder} is already an index")
        resolve_kind(kind, 0)  # validate early
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(folder)
        catalog = Catalog(folder / CATALOG_FILE)
        catalog.set_meta(
            {
                "schema_version": str(SCHEMA_VERSION),
                "model_fingerprint": model.fingerprint,
                "model_name": model.name,
                "model_spec": json.dumps(model.spec),
                "dim": str(model.dim),
                "store_kind": kind,
                "generation": "0",
            }
        )
        return cls(folder, catalog, True, lock_fd)

    @classmethod
    def open(cls, path: str | os.PathLike[str], writable: bool = False) -> Index:
        folder = Path(path)
        if not folder.exists():
            raise IndexStateError(f"index not found: {folder} (create one with `selfsim index`)")
        if not is_index(folder):
            raise IndexStateError(f"{folder} is not a selfsim index (no {CATALOG_FILE})")
        lock_fd = _lock(folder) if writable else None
        catalog = Catalog(folder / CATALOG_FILE)
        version = catalog.get_meta("schema_version")
        if version != str(SCHEMA_VERSION):
            catalog.close()
            raise IndexStateError(
                f"{folder} has index format {version}; this selfsim reads {SCHEMA_VERSION}"
            )
        return cls(folder, catalog, writable, lock_fd)

    def close(self) -> None:
        if self.writable and self._dirty:
            self.save()
        self.catalog.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._dirty = False  # keep what was committed; the store is rebuilt on next open
        self.close()

    # -- model ------------------------------------------------------------------
    @property
    def model(self) -> ModelRef:
        c = self.catalog
        return ModelRef(
            fingerprint=c.get_meta("model_fingerprint") or "",
            name=c.get_meta("model_name") or "",
            spec=json.loads(c.get_meta("model_spec") or "{}"),
            dim=int(c.get_meta("dim") or 0),
        )

    def check_model(self, model: ModelRef) -> None:
        """Refuse vectors from another model than the one this index was built with."""
        mine = self.model
        if model.fingerprint != mine.fingerprint:
            raise IndexStateError(
                f"{self.path} was built with model '{mine.name}' ({mine.fingerprint}), not "
                f"'{model.name}' ({model.fingerprint}); vectors of different models cannot be "
                f"mixed. Use a new --index folder, or add --rebuild to re-embed everything"
            )

    def reset(self, model: ModelRef) -> None:
        """Drop every image and adopt another model (``--rebuild``)."""
        self._require_writable()
        ids = [r.id for r in self.catalog.records()]
        self.catalog.delete(ids)
        self.catalog.set_meta(
            {
                "model_fingerprint": model.fingerprint,
                "model_name": model.name,
                "model_spec": json.dumps(model.spec),
                "dim": str(model.dim),
            }
        )
        self._store = None
        self._phashes = None
        self._dirty = True

    # -- contents ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.catalog)

    def records(self) -> list[ImageRecord]:
        return list(self.catalog.records())

    def paths(self, ids: np.ndarray | list[int]) -> dict[int, str]:
        return self.catalog.paths(ids)

    @property
    def store(self) -> FaissStore:
        """The vector store, loaded from disk or rebuilt from the catalog."""
        if self._store is None:
            file = self._store_file()
            if file.is_file():
                self._store = FaissStore.load(file)
            else:
                self._store = self._rebuild_store()
                if self.writable:
                    self._dirty = True
        return self._store

    def _store_file(self) -> Path:
        return self.path / f"vectors-{self.catalog.generation}.faiss"

    def _rebuild_store(self) -> FaissStore:
        ids, xb = self.catalog.vectors()
        kind = resolve_kind(self.catalog.get_meta("store_kind") or "auto", len(ids))
        store = FaissStore(self.model.dim, kind)
        store.add(ids, xb)
        return store

    def add(self, images: list[NewImage]) -> np.ndarray:
        """Insert embedded images (replacing rows with the same path); returns ids."""
        self._require_writable()
        model = self.model
        for im in images:
            if im.vector.shape != (model.dim,):
                raise IndexStateError(f"vector of {im.path} has shape {im.vector.shape}, index needs ({model.dim},)")
        store = self.store  # reflect the catalog as it was before this change
        ids, replaced = self.catalog.insert(images, model.fingerprint)
        self._phashes = None
        if len(replaced) and not store.supports_remove:
            self._store = None  # HNSW cannot delete: rebuilt lazily, new rows included
        else:
            store.remove(replaced)
            if images:
                store.add(ids, np.stack([im.vector for im in images]))
        self._dirty = True
        return ids

    def remove(self, ids: list[int]) -> None:
        self._require_writable()
        if not ids:
            return
        _ = self.store  # load the store as the catalog is now, before it changes
        self.catalog.delete(ids)
        self._phashes = None
        self._remove_from_store(np.asarray(ids, dtype=np.int64))
        self._dirty = True

    def _remove_from_store(self, ids: np.ndarray) -> None:
        store = self.store
        if store.supports_remove:
            store.remove(ids)
        else:
            self._store = None  # HNSW cannot delete: rebuild from the catalog lazily

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest vectors: ``(D, I)`` with cosine similarities and ids, best first."""
        return self.store.search(xq, k)

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored vectors (n, d) of these ids."""
        return self.store.reconstruct(np.asarray(ids, dtype=np.int64))

    def phash_search(self, hq: np.ndarray, max_distance: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each int64 pHash, the ``(ids, distances)`` within ``max_distance`` bits."""
        if self._phashes is None:
            self._phashes = self.catalog.phashes()
        ids, hb = self._phashes
        if len(ids) == 0:
            return [(np.empty(0, np.int64), np.empty(0, np.int32)) for _ in hq]
        D = hamming(np.asarray(hq, dtype=np.int64), hb)
        return [(ids[row <= max_distance], row[row <= max_distance]) for row in D]

    def save(self) -> None:
        """Write the vector store for the current catalog generation, atomically."""
        self._require_writable()
        store = self.store
        kind = resolve_kind(self.catalog.get_meta("store_kind") or "auto", len(store))
        if kind != store.kind:  # the collection grew past the exact-search limit
            self._store = store = self._rebuild_store()
        target = self._store_file()
        store.save(target)
        for old in self.path.glob("vectors-*.faiss"):
            if old != target:
                old.unlink(missing_ok=True)
        self._dirty = False

    def _require_writable(self) -> None:
        if not self.writable:
            raise IndexStateError(f"{self.path} was opened read-only")


def _lock(folder: Path) -> int:
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise IndexStateError(
            f"{folder} is being written by another selfsim process; wait for it to finish"
        ) from None
    return fd
