"""``selfsim check``: find, and where possible repair, what is wrong with an index.

The catalog is the truth and everything else derives from it, so most repairs are
cheap: the FAISS file is rebuilt from the catalog's vectors, a malformed meta row is
recomputed, and rows whose vector cannot be used are dropped (the next
``selfsim index`` embeds those files again). A catalog SQLite cannot read at all
cannot be repaired here: ``selfsim index --rebuild`` sets it aside and starts anew.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from selfsim.errors import IndexStateError, SelfsimError
from selfsim.index.address import is_milvus
from selfsim.index.catalog import READABLE_VERSIONS, SCHEMA_VERSION, Catalog, decode_vector
from selfsim.index.faiss_store import FaissStore
from selfsim.index.index import (
    CATALOG_FILE,
    MAX_DIM,
    Index,
    _lock,
    is_index,
    parse_meta,
    store_mismatch,
)
from selfsim.index.phash_table import PhashTable
from selfsim.index.store import STORE_KINDS, resolve_kind

#: A stored vector is unit length; further off than this it was damaged.
NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Problem:
    """One thing found wrong. ``repaired`` is True when ``--repair`` mended it."""

    what: str
    repairable: bool
    repaired: bool = False


@dataclass
class CheckReport:
    """What :func:`check_index` found; ``ok`` when nothing is left to mend."""

    path: str
    images: int = 0
    files_gone: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.repaired for p in self.problems)


def check_index(path: str | os.PathLike[str], repair: bool = False) -> CheckReport:
    """Check an index folder; with ``repair``, mend what can be mended.

    Raises:
        IndexStateError: ``path`` is not an index, or (with ``repair``) another
            process is writing it.
    """
    if is_milvus(path):
        raise IndexStateError(f"selfsim check reads index folders; a Milvus collection ({path}) is checked by "
                              f"Milvus itself")
    folder = Path(path)
    if not is_index(folder):
        raise IndexStateError(f"{folder} is not a selfsim index (no usable {CATALOG_FILE})")
    lock_fd = _lock(folder) if repair else None
    report = CheckReport(str(folder))
    try:
        try:
            catalog = Catalog(folder / CATALOG_FILE, readonly=not repair)
        except IndexStateError as e:
            report.problems.append(Problem(f"the catalog cannot be opened: {e}", False))
            return report
        try:
            _check(folder, catalog, repair, report)
        except sqlite3.DatabaseError as e:
            report.problems.append(Problem(f"the catalog cannot be read: {e} (index again with --rebuild)", False))
        finally:
            catalog.close()
    finally:
        if lock_fd is not None:
            os.close(lock_fd)
    return report


def _check(folder: Path, catalog: Catalog, repair: bool, report: CheckReport) -> None:
    def found(what: str, fix: object = None) -> None:
        """Record a problem; ``fix`` (a callable) mends it when repairing."""
        done = False
        if repair and callable(fix):
            fix()
            done = True
        report.problems.append(Problem(what, callable(fix), done))

    damage = catalog.integrity()
    if damage:
        found(f"SQLite integrity check: {'; '.join(damage[:3])} (index again with --rebuild)")
        return
    meta = catalog.meta()
    version = meta.get("schema_version")
    if version not in READABLE_VERSIONS:
        found(f"meta 'schema_version' is {version!r}",
              lambda: catalog.set_meta({"schema_version": str(SCHEMA_VERSION)}))
    if version in ("1", "2") and repair:
        catalog.upgrade()

    # Vector length: the meta row, unless most stored vectors say otherwise (a damaged
    # row must not make repair drop every sound vector).
    rows = catalog.vector_rows()
    lengths = Counter(len(b) for _, b, _ in rows if isinstance(b, bytes) and len(b) % 2 == 0)
    common_bytes, count = lengths.most_common(1)[0] if lengths else (0, 0)
    try:
        dim = int(meta.get("dim", ""))
    except ValueError:
        dim = 0
    # float16 blobs since format 3, float32 before (a format-3 catalog may hold both)
    common = 0 if not common_bytes or dim * 2 == common_bytes or dim * 4 == common_bytes else (
        common_bytes // 2 if version == str(SCHEMA_VERSION) else common_bytes // 4)
    common = common or dim
    if not 0 < dim <= MAX_DIM or (common and dim != common and count > len(rows) / 2):
        fix = (lambda: catalog.set_meta({"dim": str(common)})) if common else None
        found(f"meta 'dim' is {meta.get('dim')!r}" + (f" (the vectors say {common})" if common else ""), fix)
        dim = common
    try:
        int(meta.get("generation", "0"))
    except ValueError:
        found(f"meta 'generation' is {meta.get('generation')!r}", lambda: _reset_generation(folder, catalog))
    if meta.get("store_kind", "auto") not in STORE_KINDS:
        found(f"meta 'store_kind' is {meta.get('store_kind')!r}", lambda: catalog.set_meta({"store_kind": "auto"}))
    try:
        spec = json.loads(meta.get("model_spec", ""))
        if not isinstance(spec, dict):
            raise ValueError
    except (ValueError, RecursionError):
        found("meta 'model_spec' is not a JSON object naming the model (index again with --rebuild)")
    fingerprint = meta.get("model_fingerprint", "")
    if not fingerprint:
        found("meta 'model_fingerprint' is missing (index again with --rebuild)")

    # Rows: vectors of the right length, finite, unit length, made by the index's model.
    bad: dict[str, list[int]] = {}
    for image_id, blob, model in catalog.vector_rows():
        why = None
        vector = decode_vector(blob, dim)
        if vector is None:
            why = f"a vector that is not {dim} numbers long"
        else:
            norm = float(np.linalg.norm(vector))
            if not np.isfinite(norm) or abs(norm - 1) > NORM_TOLERANCE:
                why = "a vector that is not unit length"
        if why is None and fingerprint and model != fingerprint:
            why = "a vector from another model"
        if why is not None:
            bad.setdefault(why, []).append(int(image_id))
    for why, ids in bad.items():
        found(f"{len(ids)} row(s) with {why} (repair drops them; the next `selfsim index` embeds "
              f"those files again)", lambda ids=ids: catalog.delete(ids))

    records = list(catalog.records())
    report.images = len(records)
    report.files_gone = sum(not os.path.lexists(r.path) for r in records)
    orphans = catalog.execute(
        "SELECT COUNT(*) FROM local_features WHERE sha256 NOT IN (SELECT sha256 FROM images)").fetchone()[0]
    if orphans:
        found(f"{orphans} cached local feature set(s) of pictures no longer indexed",
              lambda: catalog.execute("DELETE FROM local_features WHERE sha256 NOT IN (SELECT sha256 FROM images)"))
    _check_store(folder, catalog, repair, found)


def _check_store(folder: Path, catalog: Catalog, repair: bool, found: Callable[..., None]) -> None:
    """The derived files of the catalog's generation: the HNSW graph (large collections)
    and the packed pHashes, present, readable, and holding the catalog's ids."""
    try:
        model, kind = parse_meta(folder, catalog.meta())
        generation = catalog.generation
    except SelfsimError:
        return  # reported above; repaired meta is checked on the next run
    ids = catalog.ids()
    target = folder / f"vectors-{generation}.faiss"
    phash_file = folder / f"phashes-{generation}.npy"
    problems = []
    if resolve_kind(kind, len(ids), model.dim) != "flat":
        try:
            problem = store_mismatch(FaissStore.load(target), ids, model.dim)
        except FileNotFoundError:
            problem = "is missing"
        except (RuntimeError, OSError, ValueError) as e:
            problem = f"is unreadable ({str(e).splitlines()[0][:80]})"
        if problem:
            problems.append(f"{target.name} {problem}")
    if len(ids):
        try:
            if not np.array_equal(PhashTable.load(phash_file).ids, ids):
                problems.append(f"{phash_file.name} holds other ids than the catalog")
        except FileNotFoundError:
            problems.append(f"{phash_file.name} is missing")
        except (OSError, ValueError) as e:
            problems.append(f"{phash_file.name} is unreadable ({str(e).splitlines()[0][:80]})")
    if problems:
        found(f"{'; '.join(problems)} (repair rebuilds them from the catalog; nothing is re-embedded)",
              lambda: _rebuild_store(folder))
    keep = {target, phash_file} if resolve_kind(kind, len(ids), model.dim) != "flat" else {phash_file}
    stale = [p for p in [*folder.glob("vectors-*.faiss"), *folder.glob("phashes-*.npy")] if p not in keep]
    stale += [*folder.glob(".vectors-*.tmp-*"), *folder.glob(".phashes-*.tmp-*")]
    if stale:
        found(f"{len(stale)} stale search file(s)", lambda: _remove(stale))


def _remove(files: list[Path]) -> None:
    for p in files:
        p.unlink(missing_ok=True)


def _rebuild_store(folder: Path) -> None:
    index = Index.__new__(Index)  # the open lock is ours already: no second lock
    catalog = Catalog(folder / CATALOG_FILE)
    Index.__init__(index, folder, catalog, True, None)
    try:
        index._store = index.rebuild_store()
        index._phashes = PhashTable(*catalog.phashes())
        index.save()
    finally:
        index.close()


def _reset_generation(folder: Path, catalog: Catalog) -> None:
    numbers = [int(p.stem.split("-", 1)[1]) for p in folder.glob("vectors-*.faiss") if p.stem.split("-", 1)[1].isdigit()]
    catalog.set_meta({"generation": str(max(numbers, default=0) + 1)})


__all__ = ["CheckReport", "Problem", "check_index"]
