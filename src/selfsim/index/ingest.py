"""Bringing a folder into an index: embed new and changed files, drop deleted ones.

A file is unchanged when its size and mtime match the catalog (``verify_content``
compares content hashes instead); otherwise its content hash decides (a touched but
identical file is not re-embedded, and a copy or a moved file reuses its vector).
Decoding runs in threads while the model runs, and every batch is committed as soon
as it is embedded, so an interrupted run keeps its progress.

Deletions never outrun the evidence: a folder that is missing or holds no picture
(an unmounted disk) is refused, and when more than :data:`MAX_VANISHED_SHARE` of a
folder's indexed pictures are gone they are kept, unless ``prune`` says otherwise.
A moved or renamed file keeps its vector (same content), and its old entry is
dropped in the same step as the new one comes in; other gone entries are dropped
once the run is complete.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from selfsim.data.files import file_sha256, find_images
from selfsim.data.reader import DEFAULT_MAX_PIXELS, ORIGINAL_SIZE, read_image
from selfsim.errors import ImageReadError, SelfsimError
from selfsim.index.catalog import ImageRecord, NewImage
from selfsim.index.index import Index
from selfsim.models.config import EncoderConfig
from selfsim.models.embedder import Embedder
from selfsim.models.phash import phash64
from selfsim.models.pixels import to_pixels

log = logging.getLogger(__name__)

#: More than this share of a folder's indexed pictures gone at once looks like a
#: missing disk, not a clean-up: they are kept unless ``prune`` is given.
MAX_VANISHED_SHARE = 0.5


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class VanishedFolder:
    """Indexed pictures under ``root`` whose files are gone, kept for want of ``prune``."""

    root: str
    gone: int
    indexed: int


@dataclass
class SyncReport:
    """What one ``sync`` did; ``skipped`` lists every file that could not be read."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    reused: int = 0
    moved: int = 0  # of ``added``: files whose content was indexed under a path now gone
    skipped: list[SkippedFile] = field(default_factory=list)
    kept: list[VanishedFolder] = field(default_factory=list)

    @property
    def embedded(self) -> int:
        return self.added + self.updated - self.reused


@dataclass(frozen=True)
class Todo:
    path: str
    stat: os.stat_result
    expect: str | None = None  # content hash the catalog has, when only the content is in doubt


@dataclass(frozen=True)
class Prepared:
    path: str
    stat: os.stat_result
    sha256: str
    width: int = 0
    height: int = 0
    phash: int = 0
    pixels: np.ndarray | None = None  # the network's input; None when the vector is reused
    vector: np.ndarray | None = None  # embedded already (by another engine)


@dataclass(frozen=True)
class Unchanged:
    path: str


#: What preparing a file gives: its pixels to embed (or a vector to reuse), nothing to
#: do, or why it cannot be read.
PrepareResult = Prepared | Unchanged | SkippedFile
#: Prepares (and may embed) files, in any order: ``(todo, known content hashes) -> results``.
Engine = Callable[[list[Todo], set[str]], Iterator[PrepareResult]]


def prepare_file(item: Todo, known_sha: set[str] | frozenset[str], config: EncoderConfig,
                 max_pixels: int) -> PrepareResult:
    """Hash one file and, unless its content is indexed already, decode it into the
    network's input (every engine prepares files with this)."""
    path, st = item.path, item.stat
    try:
        sha = file_sha256(path)
        if item.expect == sha:
            return Unchanged(path)
        if sha in known_sha:
            return Prepared(path, st, sha)
        img = read_image(path, min_side=config.input_size, max_pixels=max_pixels)
        width, height = img.info.get(ORIGINAL_SIZE, img.size)  # the file's size, not the decoded one
        return Prepared(path, st, sha, width, height, phash64(img), to_pixels(img, config))
    except ImageReadError as e:
        return SkippedFile(path, e.reason)
    except OSError as e:
        return SkippedFile(path, f"cannot read file ({e.strerror or e})")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _absolute(p: str | os.PathLike[str]) -> str:
    return str(Path(p).resolve()) if os.path.exists(p) else os.path.abspath(p)


def sync(
    index: Index,
    encoder: Embedder,
    paths: Sequence[str | os.PathLike[str]],
    *,
    batch_size: int = 32,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prune: bool = False,
    verify_content: bool = False,
    exclude: Sequence[str | os.PathLike[str]] = (),
    engine: Engine | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SyncReport:
    """Make the index hold exactly the readable images under ``paths``.

    Images indexed from other folders are kept; images under ``paths`` that are
    gone (or no longer readable) are removed, within the limits above.

    Args:
        prune: remove gone pictures however many there are, and those under
            ``paths`` that no longer exist at all.
        verify_content: hash every file, not only those whose size or mtime
            changed, so content replaced under the same size and mtime is found.
        exclude: folders never looked into (the index folder always is).
        engine: prepares and embeds the files instead of this process's threads
            (:func:`selfsim.index.ray_engine.ray_engine`); the index is written here.
        on_plan: called once with the number of files to check or embed.
        on_progress: called with the number of files handled since the last call.

    Raises:
        SelfsimError: a path is missing, or a folder with indexed pictures holds none
            now, and ``prune`` is not given. Nothing is changed then.
    """
    existing = {r.path: r for r in index.records()}
    roots = [_absolute(p) for p in paths]
    held = {root: sum(_under(path, root) for path in existing) for root in roots}  # indexed under each
    present = [p for p, r in zip(paths, roots) if os.path.exists(r)]
    for p, root in zip(paths, roots):
        if not os.path.exists(root) and not prune:
            n = held[root]
            why = f" ({n} indexed pictures are under it; add --prune to remove them from the index)" if n else ""
            raise SelfsimError(f"path not found: {p}{why}")

    images, not_images = find_images(present, exclude=[*([index.folder] if index.folder else []), *exclude])
    report = SyncReport(skipped=[SkippedFile(os.path.abspath(p), why) for p, why in not_images])
    found = {str(p.resolve()): p for p in images}
    if not prune:
        for p, root in zip(paths, roots):
            if held[root] and os.path.isdir(root) and not any(_under(f, root) for f in found):
                raise SelfsimError(
                    f"{p} holds no pictures now, but the index has {held[root]} from it (is a disk "
                    f"unmounted?); nothing was changed. Add --prune to remove them from the index"
                )

    known_sha = {r.sha256 for r in existing.values()}
    todo: list[Todo] = []
    for path in found:
        try:
            st = os.stat(path)
        except OSError as e:
            report.skipped.append(SkippedFile(path, f"cannot read file ({e.strerror or e})"))
            continue
        rec = existing.get(path)
        if rec is not None and rec.size == st.st_size and rec.mtime_ns == st.st_mtime_ns:
            if verify_content:
                todo.append(Todo(path, st, expect=rec.sha256))
            else:
                report.unchanged += 1
        else:
            todo.append(Todo(path, st))

    if on_plan is not None:
        on_plan(len(todo))
    fingerprint = index.model.fingerprint
    input_size = encoder.config.input_size

    def prepare(item: Todo) -> Prepared | Unchanged | SkippedFile:
        return prepare_file(item, known_sha, encoder.config, max_pixels)

    batch: list[Prepared] = []
    gone = [r for path, r in existing.items() if any(_under(path, root) for root in roots) and path not in found]
    gone_by_sha: dict[str, list[ImageRecord]] = {}
    for r in gone:
        gone_by_sha.setdefault(r.sha256, []).append(r)

    moved: list[ImageRecord] = []

    def flush() -> None:
        nonlocal batch
        fresh = [b for b in batch if b.pixels is not None]
        done: dict[str, tuple[np.ndarray, int, int, int]] = {}  # sha256 -> vector, w, h, phash
        if fresh:
            out = encoder.embed_pixels(np.stack([b.pixels for b in fresh if b.pixels is not None]))
            done = {b.sha256: (v, b.width, b.height, b.phash) for b, v in zip(fresh, out)}
        done.update({b.sha256: (b.vector, b.width, b.height, b.phash) for b in batch if b.vector is not None})
        rows = []
        for b in batch:
            found_vec = done.get(b.sha256) or index.catalog.twin(b.sha256, fingerprint, index.model.dim)
            if found_vec is None:  # its twin vanished meanwhile: embed it after all
                try:
                    img = read_image(b.path, min_side=input_size, max_pixels=max_pixels)
                except ImageReadError as e:
                    report.skipped.append(SkippedFile(b.path, e.reason))
                    continue
                width, height = img.info.get(ORIGINAL_SIZE, img.size)
                found_vec = (encoder.embed([img])[0], width, height, phash64(img))
            elif b.pixels is None and b.vector is None:
                report.reused += 1
            vector, width, height, phash = found_vec
            rows.append(
                NewImage(b.path, b.sha256, b.stat.st_size, b.stat.st_mtime_ns, width, height, vector, phash)
            )
            moved.extend(gone_by_sha.pop(b.sha256, []))
            if b.path in existing:
                report.updated += 1
            else:
                report.added += 1
        if rows:
            index.add(rows)
        # A moved file's old path goes as its new one comes: no twin, even if killed now.
        if moved:
            drop_moved()
        batch = []

    def drop_moved() -> None:
        index.remove([r.id for r in moved])
        report.moved += len(moved)
        moved.clear()

    encoder.eval()
    unreadable: list[int] = []
    results = engine(todo, known_sha) if engine is not None else _ordered_map(prepare, todo, workers,
                                                                              prefetch=batch_size * 2)
    for result in results:
        if isinstance(result, SkippedFile):
            report.skipped.append(result)
            if result.path in existing:  # it changed into something unreadable
                unreadable.append(existing[result.path].id)
        elif isinstance(result, Unchanged):
            report.unchanged += 1
        else:
            batch.append(result)
            known_sha.add(result.sha256)
            if len(batch) >= batch_size:
                flush()
        if on_progress is not None:
            on_progress(1)
    flush()

    if moved:
        drop_moved()
    vanished = [r for records in gone_by_sha.values() for r in records]  # gone, and not moved
    remove = [r.id for r in _allowed(vanished, held, prune, report)] + unreadable
    if remove:
        index.remove(remove)
        report.removed += len(remove)
    index.save()
    return report


def embed_file(path: str, encoder: Embedder, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> NewImage:
    """One file read, hashed and embedded exactly as :func:`sync` does it, ready for
    :meth:`Index.add` (``selfsim serve`` adds uploads one request at a time).

    Raises:
        ImageReadError: the file cannot be read as a picture.
    """
    st = os.stat(path)
    sha = file_sha256(path)
    img = read_image(path, min_side=encoder.config.input_size, max_pixels=max_pixels)
    width, height = img.info.get(ORIGINAL_SIZE, img.size)
    encoder.eval()
    vector = encoder.embed_pixels(encoder.pixels(img)[None])[0]
    return NewImage(path, sha, st.st_size, st.st_mtime_ns, width, height, vector, phash64(img))


def _allowed(
    vanished: list[ImageRecord], held: dict[str, int], prune: bool, report: SyncReport
) -> list[ImageRecord]:
    """The vanished entries the evidence allows removing (``held``: how many pictures
    were indexed under each root); the rest go to ``report.kept``."""
    if prune or not vanished:
        return vanished
    keep: set[int] = set()
    for root, indexed in held.items():
        mine = [r for r in vanished if _under(r.path, root)]
        if mine and len(mine) > MAX_VANISHED_SHARE * indexed:
            report.kept.append(VanishedFolder(root, len(mine), indexed))
            keep.update(r.id for r in mine)
    return [r for r in vanished if r.id not in keep]


def _ordered_map(
    fn: Callable[[Todo], Prepared | Unchanged | SkippedFile],
    items: list[Todo],
    workers: int,
    prefetch: int,
) -> Iterator[Prepared | Unchanged | SkippedFile]:
    """``map`` over a thread pool with at most ``prefetch`` results in flight."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: list[Future[Prepared | Unchanged | SkippedFile]] = []
        it = iter(items)
        for item in it:
            pending.append(pool.submit(fn, item))
            if len(pending) >= prefetch:
                break
        while pending:
            result = pending.pop(0).result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(fn, nxt))
            yield result
