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
    if index.folder is None:
        index.replace_with(Path())  # says what to do instead
    staging = index.path / STAGING_DIR
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
        shutil.rmtree(staging, ignore_errors=True)
        staged = Index.create(staging, ref, kind=index.store_kind)
    before = len(index)
    with staged:
        options = {**options, "prune": True}
        report = sync(staged, encoder, paths, exclude=[index.path], **options)
    index.replace_with(staging)
    index.save()
    shutil.rmtree(staging, ignore_errors=True)
    report.removed = max(0, before - len(index))
    return report


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
