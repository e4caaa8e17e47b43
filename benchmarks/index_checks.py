"""What the kill loop (``kill_loop.py``) checks after each run: an index opened as a
reader is consistent (store against catalog, records against files) and has lost
nothing it had acknowledged."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from changing_folder import Folder

from selfsim.data.files import file_sha256
from selfsim.index import Index


@dataclass(frozen=True)
class Record:
    id: int
    sha256: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class IndexCheck:
    """What one look at an index found; ``problem`` is None when it is consistent."""

    records: dict[str, Record]  # path -> record (empty when there is no index or a problem)
    problem: str | None

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(self.records)

    @property
    def shas(self) -> set[str]:
        return {r.sha256 for r in self.records.values()}


def check_index(index_dir: Path, history: set[tuple[str, str]] | None = None) -> IndexCheck:
    """Open the index as a reader and compare its store, its catalog and the files.

    Args:
        history: every (path, sha256) the folder ever held; a record of anything else
            is a problem.
    """
    if not (index_dir / "catalog.sqlite").exists():
        return IndexCheck({}, None)  # killed before the index was created
    try:
        with Index.open(index_dir) as index:
            records = index.records()
            store = index.store
            ids = np.array([r.id for r in records], dtype=np.int64)
            if len(store) != len(records):
                return IndexCheck({}, f"store holds {len(store)} vectors, catalog {len(records)}")
            if len(ids):
                # Every catalog id has a vector; with equal counts the id sets are equal.
                xb = store.reconstruct(ids)
                _, I = store.search(xb, 1)
                # A moved picture is in the catalog under both paths until the run that
                # found it ends, with the same vector: either copy is a top hit then.
                sha = {r.id: r.sha256 for r in records}
                bad = [(int(i), int(j)) for i, j in zip(ids, I[:, 0]) if i != j and sha[i] != sha.get(int(j))]
                if bad:
                    return IndexCheck({}, f"{len(bad)} stored vectors are not their own top hit "
                                      f"(e.g. id {bad[0][0]} finds {bad[0][1]})")
            for r in records:
                if history is not None and (r.path, r.sha256) not in history:
                    return IndexCheck({}, f"record {r.id} ({r.path}) has content {r.sha256[:12]} "
                                      f"that this path never held")
                try:
                    st = os.stat(r.path)
                except FileNotFoundError:
                    continue  # deleted or moved since: the next run drops it
                if (st.st_size, st.st_mtime_ns) == (r.size, r.mtime_ns) and file_sha256(r.path) != r.sha256:
                    return IndexCheck({}, f"record {r.id} claims {r.path} unchanged (size and mtime) "
                                      f"but its sha256 differs")
            return IndexCheck({r.path: Record(r.id, r.sha256, r.size, r.mtime_ns) for r in records}, None)
    except Exception as e:  # anything at all is an inconsistent index
        return IndexCheck({}, f"{type(e).__name__}: {e}")


def lost(acknowledged: set[str], catalog: frozenset[str], folder: Folder) -> list[str]:
    """Acknowledged paths that should still be in ``catalog`` but are not."""
    out = []
    for p in acknowledged:
        now = folder.now(p)
        if now not in folder.disk:
            continue  # deleted: it may go
        if not any(a in catalog for a in folder.aliases(p)):
            out.append(p)
    return sorted(out)


def matches_folder(check: IndexCheck, folder: Folder) -> str | None:
    """Why the catalog is not exactly the folder's pictures (None when it is)."""
    have = {p: r.sha256 for p, r in check.records.items()}
    if have == folder.disk:
        return None
    missing = folder.disk.keys() - have.keys()
    extra = have.keys() - folder.disk.keys()
    stale = [p for p in have.keys() & folder.disk.keys() if have[p] != folder.disk[p]]
    return (f"catalog is not the folder: {len(missing)} pictures missing, {len(extra)} records of gone "
            f"files, {len(stale)} with old content (e.g. {sorted(missing or extra or stale)[0]})")
