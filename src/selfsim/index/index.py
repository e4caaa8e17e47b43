"""An index directory: a SQLite catalog (truth) plus derived search structures (caches).

Layout of ``INDEX/``::

    catalog.sqlite             images, their vectors (float16), and which model made them
    vectors-<generation>.faiss an HNSW graph over reduced vectors (large collections only;
                               small ones are searched exactly, straight from the catalog)
    phashes-<generation>.npy   every image's pHash, packed
    write.lock                 held by the one process allowed to write
    .rebuild/                  a ``--rebuild`` in progress (swapped in when complete)

Each full vector is stored once, in the catalog. Opening an index whose files are
missing, stale, unreadable or out of step with the catalog rebuilds them from it,
so a crash or a damaged cache never costs an embedding.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np

from selfsim.atomic import fsync_dir
from selfsim.errors import IndexDamagedError, IndexStateError
from selfsim.index.address import is_milvus
from selfsim.index.catalog import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    Catalog,
    ImageRecord,
    NewImage,
    damaged,
)
from selfsim.index.faiss_store import REDUCTION_SAMPLE, FaissStore
from selfsim.index.phash_table import PhashTable
from selfsim.index.store import COMPACT_SHARE, STORE_KINDS, RebuildNeeded, VectorStore, resolve_kind

if TYPE_CHECKING:
    from selfsim.models.embedder import Embedder

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite"
LOCK_FILE = "write.lock"
STAGING_DIR = ".rebuild"
#: Longer vectors than any image model gives: a larger ``dim`` is damage.
MAX_DIM = 1 << 16
#: Files an interrupted ``Index.create`` may leave in a folder that is not an index yet.
_CREATE_LEFTOVERS = (LOCK_FILE, f".{CATALOG_FILE}.new")


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

    def meta(self) -> dict[str, str]:
        return {
            "model_fingerprint": self.fingerprint,
            "model_name": self.name,
            "model_spec": json.dumps(self.spec),
            "dim": str(self.dim),
        }


def model_ref(encoder: Embedder) -> ModelRef:
    """What an index records about ``encoder``."""
    return ModelRef(encoder.fingerprint, encoder.config.name, dict(encoder.spec), encoder.dim)


def is_index(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds an index (a half-made one does not count), or names an
    existing Milvus collection made by selfsim."""
    if is_milvus(path):
        from selfsim.index.milvus_index import MilvusIndex

        return MilvusIndex.exists(str(path))
    return (Path(path) / CATALOG_FILE).is_file() and not _half_made(Path(path))


def _half_made(folder: Path) -> bool:
    """A catalog that an interrupted ``Index.create`` of an older selfsim left: no
    format recorded and no image in it. Creating the index again replaces it."""
    try:
        db = sqlite3.connect(f"file:{quote(os.fsencode(folder / CATALOG_FILE))}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" in tables and db.execute(
                "SELECT 1 FROM meta WHERE key = 'schema_version'"
            ).fetchone():
                return False
            return "images" not in tables or db.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0
        finally:
            db.close()
    except (sqlite3.Error, ValueError):
        return False  # damaged, not half-made: opening it says so


def _repair_hint(folder: Path) -> str:
    return f"run `selfsim check {folder} --repair`"


def parse_meta(folder: Path | str, meta: dict[str, str]) -> tuple[ModelRef, str]:
    """The model and store kind an index's meta rows describe.

    Raises:
        IndexStateError: a row is missing or malformed (named, with what to do).
    """
    where = folder / CATALOG_FILE if isinstance(folder, Path) else folder

    def bad(key: str, why: str) -> IndexDamagedError:
        return IndexDamagedError(f"{where}: meta '{key}' {why}; {_repair_hint(folder)}")

    fingerprint = meta.get("model_fingerprint")
    if not fingerprint:
        raise bad("model_fingerprint", "is missing")
    try:
        spec = json.loads(meta.get("model_spec", "{}"))
    except (json.JSONDecodeError, RecursionError):
        raise bad("model_spec", "is not valid JSON") from None
    if not isinstance(spec, dict) or not all(isinstance(v, str | None) for v in spec.values()):
        raise bad("model_spec", "is not an object of names")
    try:
        dim = int(meta.get("dim", ""))
    except ValueError:
        raise bad("dim", f"is {meta.get('dim')!r}, not a number") from None
    if not 0 < dim <= MAX_DIM:
        raise bad("dim", f"is {dim}, not a vector length from 1 to {MAX_DIM}")
    kind = meta.get("store_kind", "auto")
    if kind not in STORE_KINDS:
        raise bad("store_kind", f"is {kind!r}, not one of {', '.join(STORE_KINDS)}")
    return ModelRef(fingerprint, meta.get("model_name", ""), spec, dim), kind


class Index:
    """Open with :meth:`open` (existing) or :meth:`create`; use as a context manager.

    A read-only index (the default of :meth:`open`) sees one consistent snapshot of
    the collection, whatever a writer does meanwhile, until :meth:`refresh`.
    """

    def __init__(self, path: Path, catalog: Catalog, writable: bool, lock_fd: int | None) -> None:
        self.path = path
        self.catalog = catalog
        self.writable = writable
        self._lock_fd = lock_fd
        self._store: VectorStore | None = None
        self._phashes: PhashTable | None = None
        self._ids: tuple[int, np.ndarray] | None = None  # (generation, the catalog's ids)
        self._dirty = False
        try:
            self._model, self._kind = parse_meta(path, catalog.meta())
            _ = catalog.generation  # a readable generation, or a one-line error now
        except Exception:
            self.close()
            raise

    # -- opening ----------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], model: ModelRef, kind: str = "auto") -> Index:
        """Make a new, empty index directory (it may exist if it is empty), or a new
        Milvus collection when ``path`` is a Milvus address.

        The catalog is written under a temporary name and renamed into place, so an
        interrupted creation leaves no half-made index behind.
        """
        if is_milvus(path):
            from selfsim.index.milvus_index import MilvusIndex

            return MilvusIndex.make(str(path), model, kind)
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise IndexStateError(f"{folder} exists and is not a folder")
        if is_index(folder):
            raise IndexStateError(f"{folder} is already an index")
        if (folder / CATALOG_FILE).is_file():  # half-made by an interrupted creation
            for name in (CATALOG_FILE, f"{CATALOG_FILE}-wal", f"{CATALOG_FILE}-shm"):
                (folder / name).unlink(missing_ok=True)
        if folder.exists() and any(not _leftover(p.name) for p in folder.iterdir()):
            raise IndexStateError(f"{folder} is a non-empty folder that is not a selfsim index")
        resolve_kind(kind, 0)  # validate early
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(folder)
        try:
            tmp = folder / f".{CATALOG_FILE}.new"
            for old in folder.glob(f".{CATALOG_FILE}.new*"):
                old.unlink()
            catalog = Catalog(tmp)
            catalog.set_meta(
                {"schema_version": str(SCHEMA_VERSION), **model.meta(), "store_kind": kind, "generation": "0"}
            )
            catalog.close()  # the last connection: SQLite folds its WAL into the file
            os.replace(tmp, folder / CATALOG_FILE)
            fsync_dir(folder)
            return cls(folder, Catalog(folder / CATALOG_FILE), True, lock_fd)
        except BaseException:
            os.close(lock_fd)
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str], writable: bool = False) -> Index:
        """An existing index folder, or Milvus collection when ``path`` is a Milvus address."""
        if is_milvus(path):
            from selfsim.index.milvus_index import MilvusIndex

            return MilvusIndex.connect(str(path), writable)
        folder = Path(path)
        if not folder.exists():
            raise IndexStateError(f"index not found: {folder} (create one with `selfsim index`)")
        if not (folder / CATALOG_FILE).is_file():
            raise IndexStateError(f"{folder} is not a selfsim index (no {CATALOG_FILE})")
        if _half_made(folder):
            raise IndexStateError(
                f"{folder} was left half-made by an interrupted `selfsim index`; run it again "
                f"to make the index anew"
            )
        lock_fd = _lock(folder) if writable else None
        try:
            catalog = Catalog(folder / CATALOG_FILE, readonly=not writable)
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        try:
            version = catalog.get_meta("schema_version")
        except Exception as e:
            catalog.close()
            if lock_fd is not None:
                os.close(lock_fd)
            raise damaged(folder / CATALOG_FILE, e) from None
        if version not in READABLE_VERSIONS:
            catalog.close()
            if lock_fd is not None:
                os.close(lock_fd)
            error = IndexStateError if version else IndexDamagedError
            shown = version if version and version.isprintable() else repr(version)
            raise error(
                f"{folder} has index format {shown}; this selfsim reads formats {', '.join(READABLE_VERSIONS)}"
                + ("" if version else f" ({_repair_hint(folder)}, or index again with --rebuild)")
            )
        if writable and version != str(SCHEMA_VERSION):
            catalog.upgrade()
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

    def refresh(self) -> bool:
        """Read-only: see the latest committed state (a new snapshot). Returns whether
        the collection changed; the vectors in memory are kept when it did not."""
        before = self.catalog.meta()
        self.catalog.refresh()
        now = self.catalog.meta()
        if now == before:
            return False
        self._model, self._kind = parse_meta(self.path, now)
        self._store = None
        self._phashes = None
        return True

    @property
    def folder(self) -> Path | None:
        """The folder the index keeps its files in (None: a Milvus collection)."""
        return self.path

    # -- model ------------------------------------------------------------------
    @property
    def model(self) -> ModelRef:
        return self._model

    @property
    def store_kind(self) -> str:
        """``auto``, ``flat``, ``hnsw`` or ``ivfpq``, as chosen when the index was made."""
        return self._kind

    def set_store_kind(self, kind: str) -> None:
        """Search with another kind of FAISS index from now on (the store is a cache:
        it is rebuilt from the catalog, nothing is re-embedded)."""
        self._require_writable()
        resolve_kind(kind, 0)
        if kind != self._kind:
            self.catalog.set_meta({"store_kind": kind})
            self._kind = kind
            self._store = None
            self._dirty = True

    def check_model(self, model: ModelRef) -> None:
        """Refuse vectors from another model than the one this index was built with."""
        mine = self.model
        if model.fingerprint != mine.fingerprint:
            runtimes = [m.spec.get("runtime") or ("torch" if m.spec.get("model") == "default" else "") for m in (mine, model)]
            other_runtime = mine.name == model.name and runtimes[0] != runtimes[1] and all(runtimes)
            why = (f" on the {runtimes[0]} runtime, not {runtimes[1]} (their vectors agree closely, not exactly)"
                   if other_runtime else "")
            if not why and mine.name == model.name == "default":
                why = " (an earlier default encoder: selfsim's default changed)"
            raise IndexStateError(
                f"{self.path} was built with model '{mine.name}' ({mine.fingerprint}){why}, not "
                f"'{model.name}' ({model.fingerprint}); vectors of different models cannot be "
                f"mixed. Use a new --index folder, or add --rebuild to re-embed everything"
            )

    def replace_with(self, staged: Path) -> None:
        """Take over every image of the finished index in ``staged`` (and its model),
        in one transaction: ``--rebuild`` swaps the new collection in atomically."""
        self._require_writable()
        other = Index.open(staged)
        try:
            meta = other.model.meta() | {"store_kind": self._kind}
        finally:
            other.close()
        self.catalog.replace_all(staged / CATALOG_FILE, meta)
        self._model, self._kind = parse_meta(self.path, self.catalog.meta())
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
    def store(self) -> VectorStore:
        """The vector store, loaded from disk or rebuilt from the catalog."""
        if self._store is None:
            self._store = self._load_store()
            if self._store is None:
                self._store = self.rebuild_store()
                if self.writable:
                    self._dirty = True
        return self._store

    def _load_store(self) -> FaissStore | None:
        """The FAISS file of this generation, if it exists and agrees with the catalog."""
        if resolve_kind(self._kind, len(self.catalog), self.model.dim) == "flat":
            return None  # exact search: made from the catalog's vectors, never saved
        file = self._store_file()
        try:
            store = FaissStore.load(file, exact=self._exact_vectors)
        except FileNotFoundError:
            return None
        except (RuntimeError, OSError, ValueError) as e:
            log.warning("%s is unreadable (%s); rebuilding it from the catalog", file, e)
            return None
        problem = store_mismatch(store, self._catalog_ids(), self.model.dim)
        if problem:
            log.warning("%s %s; rebuilding it from the catalog", file, problem)
            return None
        return store

    def _store_file(self) -> Path:
        return self.path / f"vectors-{self.catalog.generation}.faiss"

    def _catalog_ids(self) -> np.ndarray:
        """The catalog's ids, read once per generation (opening checks both derived files
        against them; a million of them take a while to read)."""
        generation = self.catalog.generation
        if self._ids is None or self._ids[0] != generation:
            self._ids = (generation, self.catalog.ids())
        return self._ids[1]

    def _phash_file(self) -> Path:
        return self.path / f"phashes-{self.catalog.generation}.npy"

    def _exact_vectors(self, ids: np.ndarray) -> np.ndarray:
        return self.catalog.vectors_of(ids, self.model.dim)

    def rebuild_store(self) -> FaissStore:
        """A vector store made afresh from the catalog's vectors, read in batches (a
        million vectors never sit in memory as float32 at once)."""
        dim, n = self.model.dim, len(self.catalog)
        store = FaissStore(dim, resolve_kind(self._kind, n, dim), exact=self._exact_vectors)
        if store.kind != "flat" and n:
            ids = self._catalog_ids()
            sample = np.random.default_rng(0).choice(ids, min(n, REDUCTION_SAMPLE), replace=False)
            store.train(self.catalog.vectors_of(np.sort(sample), dim), total=n)
        for ids, xb in self.catalog.iter_vectors(dim, batch=65536):
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
        self._dirty = True
        store.remove(replaced)
        try:
            if images:
                store.add(ids, np.stack([im.vector for im in images]))
        except RebuildNeeded:  # an HNSW tombstone's id came back: rebuilt lazily, new rows included
            self._store = None
        self._compact_if_needed()
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
        self.store.remove(ids)  # HNSW: tombstones, skipped by searches
        self._compact_if_needed()

    def _compact_if_needed(self) -> None:
        if self._store is not None and self._store.dead_share > COMPACT_SHARE:
            self._store = None  # rebuilt from the catalog when next needed, without them

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest vectors: ``(D, I)`` with cosine similarities and ids, best first.

        Similarities are clipped to 1: float16 storage may put an identical vector a
        few 1e-5 above it."""
        D, I = self.store.search(xq, k)
        return np.minimum(D, np.float32(1.0)), I

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored vectors (n, d) of these ids."""
        return self._exact_vectors(np.asarray(ids, dtype=np.int64))

    def phash_search(self, hq: np.ndarray, max_distance: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each int64 pHash, the ``(ids, distances)`` within ``max_distance`` bits."""
        return self.phashes.search(np.asarray(hq, dtype=np.int64), max_distance)

    @property
    def phashes(self) -> PhashTable:
        """Every image's pHash: the packed file of this generation, or
        read from the catalog when it is missing or out of step."""
        if self._phashes is None:
            table = None
            try:
                table = PhashTable.load(self._phash_file())
                if not np.array_equal(table.ids, self._catalog_ids()):
                    log.warning("%s is out of step with the catalog; reading the catalog", self._phash_file())
                    table = None
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as e:
                log.warning("%s is unreadable (%s); reading the catalog", self._phash_file(), e)
            if table is None:
                table = PhashTable(*self.catalog.phashes())
                if self.writable:
                    self._dirty = True
            self._phashes = table
        return self._phashes

    def save(self) -> None:
        """Write the search structures for the current catalog generation, atomically."""
        self._require_writable()
        store = self.store
        wanted = resolve_kind(self._kind, len(store), self.model.dim)
        if wanted != store.kind or (
            store.kind != "flat" and 0 < store.trained_on < min(len(store), REDUCTION_SAMPLE) / 4
        ) or (isinstance(store, FaissStore) and store.outdated):
            # crossed the exact-search limit, the reduction was fitted on too few vectors, or
            # an older selfsim's inner-product graph (rebuilt once, from the catalog)
            self._store = store = self.rebuild_store()
        keep = set()
        if store.kind != "flat":
            keep.add(self._store_file())
            store.save(self._store_file())
        keep.add(self._phash_file())
        self.phashes.save(self._phash_file())
        for old in [*self.path.glob("vectors-*.faiss"), *self.path.glob("phashes-*.npy")]:
            if old not in keep:
                old.unlink(missing_ok=True)
        self._dirty = False

    def _require_writable(self) -> None:
        if not self.writable:
            raise IndexStateError(f"{self.path} was opened read-only")


def store_mismatch(store: FaissStore, ids: np.ndarray, dim: int) -> str | None:
    """Why a loaded store does not serve a catalog with these ids, or None."""
    if store.dim != dim:
        return f"holds vectors of {store.dim} numbers, not {dim}"
    return store.serve(ids)


def _leftover(name: str) -> bool:
    """Files that may stand in a folder that is not an index yet: an interrupted
    creation's, or a catalog that ``--rebuild`` set aside as damaged."""
    return (name in _CREATE_LEFTOVERS or name.startswith((f".{CATALOG_FILE}.new", f"{CATALOG_FILE}.damaged-"))
            or (name.startswith("vectors-") and name.endswith(".faiss"))
            or (name.startswith("phashes-") and name.endswith(".npy")))


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


__all__ = ["CATALOG_FILE", "Index", "ModelRef", "is_index", "model_ref", "parse_meta", "store_mismatch"]
