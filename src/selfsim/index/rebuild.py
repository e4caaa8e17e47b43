"""``--rebuild``: re-embed a collection beside the old one, then swap it in.

The new vectors go into a staging index inside the index folder (``.rebuild/``).
Only when it is complete does one SQLite transaction replace the old collection
with it, so an interrupted rebuild leaves the old index as it was (searchable all
along), and the next ``--rebuild`` with the same model continues where it stopped.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from selfsim.errors import SelfsimError
from selfsim.index.index import CATALOG_FILE, STAGING_DIR, Index, is_index, model_ref
from selfsim.index.ingest import SyncReport, sync
from selfsim.models.embedder import Embedder


def rebuild(
    index: Index, encoder: Embedder, paths: Sequence[str | os.PathLike[str]], **options: Any
) -> SyncReport:
    """Replace every image of ``index`` by those under ``paths``, embedded by ``encoder``.

    ``options`` go to :func:`~selfsim.index.ingest.sync` (``prune`` is implied: the
    new collection holds exactly what is under ``paths``).
    """
    index._require_writable()
    folder = index.folder
    # A Milvus collection is rebuilt into a collection beside it, then renamed into place.
    staging: Path | str = folder / STAGING_DIR if folder is not None else index.staging_location()  # type: ignore[attr-defined]
    ref = model_ref(encoder)
    staged: Index | None = None
    if is_index(staging):
        try:
            staged = Index.open(staging, writable=True)
            staged.check_model(ref)
        except SelfsimError:  # another model's or a damaged leftover: start afresh
            if staged is not None:
                staged.close()
            staged = None
    if staged is None:
        if folder is not None:
            shutil.rmtree(staging, ignore_errors=True)
        elif is_index(staging):  # another model's or unreadable: dropped
            _drop(str(staging))
        staged = Index.create(staging, ref, kind=index.store_kind if folder is not None else "auto")
    before = len(index)
    with staged:
        options = {**options, "prune": True}
        report = sync(staged, encoder, paths, exclude=[folder] if folder is not None else [], **options)
    index.replace_with(staging)
    index.save()
    if folder is not None:
        shutil.rmtree(staging, ignore_errors=True)
    report.removed = max(0, before - len(index))
    return report


def _drop(location: str) -> None:
    from selfsim.index.milvus_index import MilvusIndex

    with MilvusIndex.connect(location, writable=True) as stale:
        stale.catalog.drop()


def set_aside(folder: Path) -> Path:
    """Move a damaged catalog (and its derived files) out of the way, so that
    ``--rebuild`` can start a new one; returns the catalog's new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = folder / f"{CATALOG_FILE}.damaged-{stamp}"
    os.replace(folder / CATALOG_FILE, target)
    for suffix in ("-wal", "-shm"):
        side = folder / f"{CATALOG_FILE}{suffix}"
        if side.exists():
            os.replace(side, folder / f"{target.name}{suffix}")
    for cache in folder.glob("vectors-*.faiss"):
        cache.unlink(missing_ok=True)
    return target


__all__ = ["rebuild", "set_aside"]
