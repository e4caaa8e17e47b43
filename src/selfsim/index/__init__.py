"""Stage 3: storing vectors and what they came from."""

from selfsim.index.catalog import ImageRecord, NewImage
from selfsim.index.index import Index, ModelRef, is_index
from selfsim.index.ingest import SkippedFile, SyncReport, sync
from selfsim.index.store import FaissStore, VectorStore

__all__ = [
    "FaissStore",
    "ImageRecord",
    "Index",
    "ModelRef",
    "NewImage",
    "SkippedFile",
    "SyncReport",
    "VectorStore",
    "is_index",
    "sync",
]
