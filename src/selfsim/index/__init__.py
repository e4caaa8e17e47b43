"""Stage 3: storing vectors and what they came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

_EXPORTS = {
    "ImageRecord": "selfsim.index.catalog",
    "NewImage": "selfsim.index.catalog",
    "Index": "selfsim.index.index",
    "ModelRef": "selfsim.index.index",
    "is_index": "selfsim.index.index",
    "SkippedFile": "selfsim.index.ingest",
    "SyncReport": "selfsim.index.ingest",
    "sync": "selfsim.index.ingest",
    "FaissStore": "selfsim.index.faiss_store",
    "VectorStore": "selfsim.index.store",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.index.catalog import ImageRecord, NewImage
    from selfsim.index.faiss_store import FaissStore
    from selfsim.index.index import Index, ModelRef, is_index
    from selfsim.index.ingest import SkippedFile, SyncReport, sync
    from selfsim.index.store import VectorStore

__all__ = ["FaissStore", "ImageRecord", "Index", "is_index", "ModelRef", "NewImage", "SkippedFile", "sync", "SyncReport", "VectorStore"]
