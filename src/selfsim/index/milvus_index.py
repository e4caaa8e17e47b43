"""An index kept in a Milvus collection (a server, or a Milvus Lite file): the same
:class:`~selfsim.index.index.Index` behind every command, with a
:class:`~selfsim.index.milvus_catalog.MilvusCatalog` for its catalog and the
collection's own search for its :class:`~selfsim.index.milvus_store.MilvusStore`.

Nothing is kept in files of ours except a cache of local features, so several
machines can add to and search one collection. ``Index.open``, ``Index.create``
and ``is_index`` come here when given a ``milvus://`` or ``milvus-lite://`` address
(see :mod:`selfsim.index.address`).
"""

from __future__ import annotations

import os
from pathlib import Path

from selfsim.errors import IndexStateError, SelfsimError
from selfsim.index.address import MilvusAddress, parse_address, with_collection
from selfsim.index.catalog import SCHEMA_VERSION
from selfsim.index.index import Index, ModelRef, parse_meta
from selfsim.index.milvus_catalog import MilvusCatalog, connect, disconnect
from selfsim.index.milvus_store import MilvusStore
from selfsim.index.phash_table import PhashTable
from selfsim.index.store import VectorStore

#: ``--rebuild`` fills ``<collection>`` + this, then renames it into place.
STAGING_SUFFIX = "_rebuild"


class MilvusIndex(Index):
    """Open with :meth:`connect` or :meth:`make` (or ``Index.open``/``Index.create``
    with an address)."""

    catalog: MilvusCatalog  # type: ignore[assignment]

    def __init__(self, address: MilvusAddress, catalog: MilvusCatalog, writable: bool,
                 location: str | None = None) -> None:
        self.address = address
        self.location = location or address.text  # as given: with its credentials
        super().__init__(address.text, catalog, writable, None)  # type: ignore[arg-type]
        self._phash_generation = -1

    @classmethod
    def connect(cls, location: str, writable: bool = False) -> MilvusIndex:
        """An existing collection.

        Raises:
            IndexStateError: there is no such collection, or selfsim did not make it.
            MilvusError: Milvus cannot be reached or refused us.
        """
        address = parse_address(location)
        if address.lite and not os.path.exists(address.uri):
            raise IndexStateError(f"index not found: {address.uri} (create one with `selfsim index`)")
        client = connect(address)
        try:
            return cls(address, MilvusCatalog(address, client, readonly=not writable), writable, location)
        except BaseException:
            disconnect(address, client)
            raise

    @classmethod
    def make(cls, location: str, model: ModelRef, kind: str = "auto") -> MilvusIndex:
        """A new collection for ``model``'s vectors."""
        address = parse_address(location)
        if kind != "auto":
            raise _type_refused(address)
        client = connect(address)
        try:
            if MilvusCatalog.exists(address, client):
                raise IndexStateError(f"{address} is already an index")
            meta = {"schema_version": str(SCHEMA_VERSION), **model.meta(), "store_kind": "auto", "generation": "0"}
            return cls(address, MilvusCatalog.create(address, client, model.dim, meta), True, location)
        except BaseException:
            disconnect(address, client)
            raise

    @staticmethod
    def exists(location: str) -> bool:
        address = parse_address(location)
        if address.lite and not os.path.exists(address.uri):
            return False
        client = connect(address)
        try:
            return MilvusCatalog.exists(address, client)
        finally:
            disconnect(address, client)

    # -- what differs from a folder -------------------------------------------
    @property
    def folder(self) -> Path | None:
        return None

    def close(self) -> None:
        if self.writable and self._dirty:
            self.save()
        self.catalog.close()

    def set_store_kind(self, kind: str) -> None:
        if kind != "auto":
            raise _type_refused(self.address)

    def staging_location(self) -> str:
        """Where ``--rebuild`` fills the new collection: ``<collection>_rebuild`` beside it,
        reached as this one is (credentials and options kept)."""
        return with_collection(self.location, self.address.collection + STAGING_SUFFIX)

    def replace_with(self, staged: Path | str) -> None:
        """Take over the finished collection at ``staged`` (``--rebuild``): the old
        collection is dropped and the new one renamed into its place. Searches that run
        in between (a second or so) fail and can be retried; nothing is lost, as the new
        collection is complete before the old one goes."""
        self._require_writable()
        self.catalog.take_over(parse_address(str(staged)).collection)
        self._model, self._kind = parse_meta(self.path, self.catalog.meta())
        self._store = None
        self._phashes = None
        self._dirty = True

    @property
    def store(self) -> VectorStore:  # type: ignore[override]
        if self._store is None:
            self._store = MilvusStore(self.catalog)  # type: ignore[assignment]
        return self._store  # type: ignore[return-value]

    @property
    def phashes(self) -> PhashTable:
        """Every image's pHash, read from the collection once per generation."""
        if self._phashes is None or self._phash_generation != self.catalog.generation:
            self._phash_generation = self.catalog.generation
            self._phashes = PhashTable(*self.catalog.phashes())
        return self._phashes

    def save(self) -> None:
        """Make what was written durable (Milvus keeps the collection and its index)."""
        self._require_writable()
        self.catalog.flush()
        self._dirty = False


def _type_refused(address: MilvusAddress) -> SelfsimError:
    return SelfsimError(f"--type chooses a FAISS index for an index folder; a Milvus collection's index type is "
                        f"an address option, e.g. {address.text.split('?', 1)[0]}?index=HNSW")


__all__ = ["MilvusIndex"]
