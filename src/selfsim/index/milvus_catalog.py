"""The catalog of an index kept in Milvus: one collection holds everything the index
knows, so that several machines can add to and search one collection.

Each picture is one row: its vector, and as scalar fields its path, content hash,
size, mtime, pixel size, pHash and the fingerprint of the model that embedded it.
The model binding, the index format and a generation counter are collection
properties (``selfsim.*``). Ids are Milvus's own (``auto_id``), unique across writers.

Paths that are not UTF-8 (Milvus text must be) are kept as their bytes in base64
beside a readable form; ``path_key`` (a hash of the bytes) finds a path exactly.

Local features for verification are a cache, kept on each machine
(:mod:`selfsim.index.feature_cache`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from selfsim.errors import IndexStateError, SelfsimError
from selfsim.index.address import MilvusAddress
from selfsim.index.catalog import ImageRecord, NewImage
from selfsim.index.feature_cache import FeatureCache

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Collection properties are prefixed with this.
PREFIX = "selfsim."
#: Rows per query request (Milvus caps a query's result at 16,384 rows).
QUERY_CHUNK = 1000
_RECORD_FIELDS = ["id", "path", "path_bytes", "sha256", "size", "mtime_ns", "width", "height"]
_CONNECT_TIMEOUT = 10.0


class MilvusError(SelfsimError):
    """Milvus cannot be reached, refused us, or answered with an error."""


def path_key(path: str) -> str:
    return hashlib.sha1(os.fsencode(path)).hexdigest()


def _path_fields(path: str) -> tuple[str, str]:
    """``(readable text, base64 bytes or "")``: Milvus keeps UTF-8 text only."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), base64.b64encode(raw).decode("ascii")


def _path_of(row: dict[str, Any]) -> str:
    return os.fsdecode(base64.b64decode(row["path_bytes"])) if row.get("path_bytes") else str(row["path"])


def _record(row: dict[str, Any]) -> ImageRecord:
    return ImageRecord(int(row["id"]), _path_of(row), str(row["sha256"]), int(row["size"]), int(row["mtime_ns"]),
                       int(row["width"]), int(row["height"]))


def _in(ids: Iterable[int]) -> str:
    return f"id in [{','.join(str(int(i)) for i in ids)}]"


def _quoted(values: Iterable[str]) -> str:
    """Hex and base-16 keys only: nothing in them needs escaping."""
    return ",".join(f'"{v}"' for v in values)


def connect(address: MilvusAddress) -> Any:
    """A ``MilvusClient`` for ``address``, or a one-line :class:`MilvusError`."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MilvusError("a Milvus index needs pymilvus (and milvus-lite for a local file): "
                          "pip install 'selfsim[milvus]'") from None
    for name in ("pymilvus", "grpc._server"):  # their errors become ours, in one line; Milvus
        logging.getLogger(name).setLevel(logging.CRITICAL)  # Lite's in-process server logs what it lacks
    if address.lite:
        parent = os.path.dirname(address.uri)
        if not os.path.isdir(parent):
            raise MilvusError(f"{address}: no folder {parent} for the Milvus Lite file")
    try:
        client = MilvusClient(uri=address.uri, token=address.token, timeout=_CONNECT_TIMEOUT)
    except Exception as e:
        raise _failure(address, e) from None
    if address.lite:
        with _LITE_LOCK:
            _LITE_USERS[address.uri] = _LITE_USERS.get(address.uri, 0) + 1
    return client


# Milvus Lite serves a file from a server inside this process, which holds the file
# until it is released: released when the last index on it closes, so that another
# process can open it next.
_LITE_USERS: dict[str, int] = {}
_LITE_LOCK = threading.Lock()


def disconnect(address: MilvusAddress, client: Any) -> None:
    """Close ``client``; the last one on a Milvus Lite file also stops its server."""
    try:
        client.close()
    except Exception:  # closing what failed to connect
        pass
    if not address.lite:
        return
    with _LITE_LOCK:
        left = _LITE_USERS.get(address.uri, 1) - 1
        if left > 0:
            _LITE_USERS[address.uri] = left
            return
        _LITE_USERS.pop(address.uri, None)
    try:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(address.uri)
    except Exception as e:  # an older milvus-lite: it stops at exit
        log.debug("cannot release the Milvus Lite server of %s: %s", address.uri, e)


def _failure(address: MilvusAddress, e: BaseException) -> SelfsimError:
    text = str(getattr(e, "message", "") or e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    low = text.lower()
    if "auth" in low or "credential" in low or "permission" in low or "denied" in low:
        return MilvusError(f"Milvus at {address.where} refused the credentials ({text}); set SELFSIM_MILVUS_TOKEN "
                           f"to user:password or an API key")
    if "connect" in low or "unavailable" in low or "timeout" in low or "deadline" in low:
        return MilvusError(f"cannot reach Milvus at {address.where} ({text}); is the server running?")
    if "lock" in low and address.lite:
        return MilvusError(f"{address.uri} is open in another process (Milvus Lite files serve one process); "
                           f"stop it, or use a Milvus server")
    return MilvusError(f"Milvus at {address.where}: {text}")


class MilvusCatalog:
    """The :class:`~selfsim.index.catalog.Catalog` interface over a Milvus collection.

    Args:
        address: where the collection is.
        client: a connected ``MilvusClient``.
        readonly: refuse writes (searching never writes; features are cached locally).
    """

    def __init__(self, address: MilvusAddress, client: Any, readonly: bool = False) -> None:
        self.address = address
        self.path = address.text
        self.readonly = readonly
        self._client = client
        self._features = FeatureCache(f"{address.uri}/{address.collection}")
        self._count: tuple[int, int] | None = None  # (generation, rows)
        self._meta = self._read_meta()

    # -- the collection ---------------------------------------------------------
    @staticmethod
    def exists(address: MilvusAddress, client: Any) -> bool:
        try:
            return bool(client.has_collection(address.collection))
        except Exception as e:
            raise _failure(address, e) from None

    @classmethod
    def create(cls, address: MilvusAddress, client: Any, dim: int, meta: dict[str, str]) -> MilvusCatalog:
        """Make the collection, with its schema, vector index and properties."""
        from pymilvus import DataType, MilvusClient

        def make() -> None:
            schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("path", DataType.VARCHAR, max_length=65535)
            schema.add_field("path_bytes", DataType.VARCHAR, max_length=65535)
            schema.add_field("path_key", DataType.VARCHAR, max_length=40)
            schema.add_field("sha256", DataType.VARCHAR, max_length=64)
            schema.add_field("size", DataType.INT64)
            schema.add_field("mtime_ns", DataType.INT64)
            schema.add_field("width", DataType.INT32)
            schema.add_field("height", DataType.INT32)
            schema.add_field("phash", DataType.INT64)
            schema.add_field("model", DataType.VARCHAR, max_length=256)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
            params = client.prepare_index_params()
            params.add_index(field_name="vector", index_type=address.index_type, metric_type="IP",
                             params=_build_params(address.index_type))
            for field in ("path_key", "sha256"):
                params.add_index(field_name=field, index_type="INVERTED")
            client.create_collection(address.collection, schema=schema, index_params=params,
                                     consistency_level=address.consistency)
            client.alter_collection_properties(address.collection, properties={PREFIX + k: v for k, v in meta.items()})

        milvus_call(address, make)
        return cls(address, client)

    def drop(self) -> None:
        milvus_call(self.address, lambda: self._client.drop_collection(self.address.collection))

    def _read_meta(self) -> dict[str, str]:
        def read() -> dict[str, str]:
            if not self._client.has_collection(self.address.collection):
                raise IndexStateError(f"no collection '{self.address.collection}' at {self.address.where} "
                                      f"(create it with `selfsim index FOLDER --index {self.address}`)")
            props = self._client.describe_collection(self.address.collection).get("properties") or {}
            state = str(self._client.get_load_state(self.address.collection).get("state", ""))
            if "Loaded" not in state and any(k.startswith(PREFIX) for k in props):
                self._client.load_collection(self.address.collection)  # searchable (after a restart)
            return {k[len(PREFIX):]: str(v) for k, v in props.items() if k.startswith(PREFIX)}

        meta = milvus_call(self.address, read)
        if not meta:
            raise IndexStateError(f"collection '{self.address.collection}' at {self.address.where} was not made by "
                                  f"selfsim; give another collection name (?collection=NAME or the address's path)")
        return meta

    def close(self) -> None:
        self._features.close()
        disconnect(self.address, self._client)

    def refresh(self) -> None:
        self._meta = self._read_meta()

    # -- meta -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def meta(self) -> dict[str, str]:
        return dict(self._meta)

    def set_meta(self, items: dict[str, str]) -> None:
        self._require_writable()
        milvus_call(self.address, lambda: self._client.alter_collection_properties(
            self.address.collection, properties={PREFIX + k: v for k, v in items.items()}))
        self._meta.update(items)

    @property
    def generation(self) -> int:
        try:
            return int(self._meta.get("generation", "0"))
        except ValueError:
            return 0

    def _bump_generation(self) -> None:
        # Read afresh: another machine may have bumped it (a cache key, not a lock).
        current = milvus_call(self.address, lambda: self._client.describe_collection(self.address.collection))
        props = current.get("properties") or {}
        try:
            value = int(props.get(PREFIX + "generation", "0")) + 1
        except ValueError:
            value = 1
        self.set_meta({"generation": str(value)})

    def take_over(self, other: str) -> None:
        """Replace this collection by the collection ``other`` of the same Milvus (dropped,
        then ``other`` renamed to this name), with a generation no reader has seen."""
        self._require_writable()
        name, client = self.address.collection, self._client
        old = self.generation
        props = milvus_call(self.address, lambda: client.describe_collection(other)).get("properties") or {}
        new = int(props.get(PREFIX + "generation", "0") or 0)
        milvus_call(self.address, lambda: client.drop_collection(name))
        milvus_call(self.address, lambda: client.rename_collection(other, name))
        milvus_call(self.address, lambda: client.load_collection(name))
        self.refresh()
        self.set_meta({"generation": str(old + new + 1)})

    def upgrade(self) -> int:
        return 0

    # -- images -----------------------------------------------------------------
    def _query(self, filter: str, fields: list[str], limit: int | None = None) -> list[dict[str, Any]]:
        kwargs = {"limit": limit} if limit is not None else {}
        return list(milvus_call(self.address, lambda: self._client.query(self.address.collection, filter=filter,
                                                                       output_fields=fields, **kwargs)))

    def _iterate(self, fields: list[str], batch: int = 4096) -> Iterator[list[dict[str, Any]]]:
        """Every row, ``batch`` at a time (in no particular order)."""
        it = milvus_call(self.address, lambda: self._client.query_iterator(self.address.collection, batch_size=batch,
                                                                     output_fields=fields))
        try:
            while rows := milvus_call(self.address, it.next):
                yield list(rows)
        finally:
            it.close()

    def __len__(self) -> int:
        """Rows in the collection, counted once per generation (searches ask for it each time)."""
        generation = self.generation
        if self._count is None or self._count[0] != generation:
            rows = self._query("", ["count(*)"])
            self._count = (generation, int(rows[0]["count(*)"]) if rows else 0)
        return self._count[1]

    def ids(self) -> np.ndarray:
        parts = [np.fromiter((r["id"] for r in rows), np.int64, len(rows)) for rows in self._iterate(["id"])]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)

    def records(self) -> list[ImageRecord]:
        out = [_record(r) for rows in self._iterate(_RECORD_FIELDS) for r in rows]
        return sorted(out, key=lambda r: r.id)

    def paths(self, ids: Iterable[int]) -> dict[int, str]:
        ids = [int(i) for i in ids]
        out: dict[int, str] = {}
        for start in range(0, len(ids), QUERY_CHUNK):
            for row in self._query(_in(ids[start : start + QUERY_CHUNK]), ["id", "path", "path_bytes"]):
                out[int(row["id"])] = _path_of(row)
        return out

    def twin(self, sha256: str, model: str, dim: int) -> tuple[np.ndarray, int, int, int] | None:
        if not all(c in "0123456789abcdef" for c in sha256):
            return None
        rows = self._query(f'sha256 == "{sha256}" and model == "{_escape(model)}"',
                           ["vector", "width", "height", "phash"], limit=1)
        if not rows or len(rows[0]["vector"]) != dim:
            return None
        row = rows[0]
        return np.asarray(row["vector"], np.float32), int(row["width"]), int(row["height"]), int(row["phash"])

    def record_at(self, path: str) -> ImageRecord | None:
        rows = self._query(f'path_key == "{path_key(path)}"', _RECORD_FIELDS, limit=1)
        return _record(rows[0]) if rows else None

    def record(self, image_id: int) -> ImageRecord | None:
        rows = self._query(_in([image_id]), _RECORD_FIELDS)
        return _record(rows[0]) if rows else None

    def get_features(self, sha256: str, method: str) -> bytes | None:
        return self._features.get(sha256, method)

    def put_features(self, sha256: str, method: str, data: bytes) -> None:
        self._features.put(sha256, method, data)

    def phashes(self) -> tuple[np.ndarray, np.ndarray]:
        ids, hashes = [], []
        for rows in self._iterate(["id", "phash"]):
            ids.extend(int(r["id"]) for r in rows)
            hashes.extend(int(r["phash"]) for r in rows)
        order = np.argsort(np.asarray(ids, np.int64), kind="stable")
        return np.asarray(ids, np.int64)[order], np.asarray(hashes, np.int64)[order]

    def vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        parts = list(self.iter_vectors(dim))
        if not parts:
            return np.empty(0, np.int64), np.empty((0, dim), np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def iter_vectors(self, dim: int, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every ``(ids, vectors)``, ``batch`` rows at a time, in id order within a batch.

        Callers that need the whole collection in id order sort what they gather."""
        for rows in self._iterate(["id", "vector"], batch=min(batch, 16384)):
            rows.sort(key=lambda r: r["id"])
            ids = np.fromiter((r["id"] for r in rows), np.int64, len(rows))
            xb = np.asarray([r["vector"] for r in rows], np.float32).reshape(len(rows), dim)
            yield ids, xb

    def vectors_of(self, ids: np.ndarray, dim: int) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        found: dict[int, np.ndarray] = {}
        unique = np.unique(ids).tolist()
        for start in range(0, len(unique), QUERY_CHUNK):
            for row in self._query(_in(unique[start : start + QUERY_CHUNK]), ["id", "vector"]):
                found[int(row["id"])] = np.asarray(row["vector"], np.float32)
        out = np.empty((len(ids), dim), np.float32)
        for at, i in enumerate(ids.tolist()):
            if i not in found:
                raise IndexStateError(f"{self.path} has no image with id {i}")
            out[at] = found[i]
        return out

    def insert(self, images: list[NewImage], model: str) -> tuple[np.ndarray, np.ndarray]:
        """Insert images, replacing rows with the same path: ``(new_ids, replaced_ids)``."""
        self._require_writable()
        if not images:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        keys = [path_key(im.path) for im in images]
        replaced = []
        unique = sorted(set(keys))
        for start in range(0, len(unique), QUERY_CHUNK):
            rows = self._query(f"path_key in [{_quoted(unique[start : start + QUERY_CHUNK])}]", ["id"])
            replaced.extend(int(r["id"]) for r in rows)
        if replaced:
            self._delete(replaced)
        rows = []
        for im, key in zip(images, keys, strict=True):
            text, raw = _path_fields(im.path)
            rows.append({"path": text, "path_bytes": raw, "path_key": key, "sha256": im.sha256, "size": int(im.size),
                         "mtime_ns": int(im.mtime_ns), "width": int(im.width), "height": int(im.height),
                         "phash": int(np.int64(im.phash)), "model": model,
                         "vector": np.asarray(im.vector, np.float32)})
        ids: list[int] = []
        for start in range(0, len(rows), self.address.batch):
            part = rows[start : start + self.address.batch]
            result = milvus_call(self.address, lambda part=part: self._client.insert(self.address.collection, part))
            ids.extend(int(i) for i in result["ids"])
        # The same path twice in one call: the last one stays, as it would one call at a time.
        last = {key: at for at, key in enumerate(keys)}
        earlier = [ids[at] for at, key in enumerate(keys) if last[key] != at]
        if earlier:
            self._delete(earlier)
            replaced.extend(earlier)
        self._bump_generation()
        return np.asarray(ids, np.int64), np.asarray(replaced, np.int64)

    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """A new mtime for an unchanged file: the row is written again (Milvus updates rows whole)."""
        self._require_writable()
        rows = self._query(f'path_key == "{path_key(path)}"', ["*"], limit=1)
        if rows:
            row = rows[0] | {"size": int(size), "mtime_ns": int(mtime_ns)}
            milvus_call(self.address, lambda: self._client.upsert(self.address.collection, [row]))

    def delete(self, ids: Iterable[int]) -> None:
        self._require_writable()
        ids = [int(i) for i in ids]
        if ids:
            self._delete(ids)
            self._bump_generation()

    def _delete(self, ids: list[int]) -> None:
        for start in range(0, len(ids), QUERY_CHUNK):
            part = ids[start : start + QUERY_CHUNK]
            milvus_call(self.address, lambda part=part: self._client.delete(self.address.collection, ids=part))

    def flush(self) -> None:
        """Make what was written durable (Milvus Lite: on disk)."""
        milvus_call(self.address, lambda: self._client.flush(self.address.collection))

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Milvus's own nearest-neighbour search: ``(D, I)``, id -1 and -inf padding."""
        D = np.full((len(xq), k), -np.inf, np.float32)
        I = np.full((len(xq), k), -1, np.int64)
        if k <= 0 or len(xq) == 0:
            return D, I
        params = {"metric_type": "IP", "params": _search_params(self.address.index_type, k)}
        hits = milvus_call(self.address, lambda: self._client.search(
            self.address.collection, data=[np.asarray(q, np.float32) for q in xq], limit=min(k, 16384),
            anns_field="vector", search_params=params, output_fields=[]))
        for row, found in enumerate(hits):
            for col, hit in enumerate(found[:k]):
                D[row, col], I[row, col] = float(hit["distance"]), int(hit["id"])
        return D, I

    def _require_writable(self) -> None:
        if self.readonly:
            raise IndexStateError(f"{self.path} was opened read-only")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _build_params(index_type: str) -> dict[str, int]:
    if index_type == "HNSW":
        return {"M": 48, "efConstruction": 200}
    if index_type in ("IVF_FLAT", "IVF_PQ"):
        return {"nlist": 1024, **({"m": 32} if index_type == "IVF_PQ" else {})}
    return {}


def _search_params(index_type: str, k: int) -> dict[str, int]:
    if index_type == "HNSW":
        return {"ef": max(128, k)}
    if index_type in ("IVF_FLAT", "IVF_PQ"):
        return {"nprobe": 32}
    if index_type == "DISKANN":
        return {"search_list": max(100, k)}
    return {}


def milvus_call(address: MilvusAddress, fn: Callable[[], T]) -> T:
    """Run one Milvus request; its failure becomes a one-line error."""
    try:
        return fn()
    except SelfsimError:
        raise
    except Exception as e:
        from pymilvus.exceptions import MilvusException

        if isinstance(e, MilvusException) or type(e).__module__.startswith(("grpc", "pymilvus")):
            raise _failure(address, e) from None
        raise


__all__ = ["MilvusCatalog", "MilvusError", "connect", "disconnect", "milvus_call", "path_key"]
