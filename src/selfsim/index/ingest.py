"""Bringing a folder into an index: embed new and changed files, drop deleted ones.

A file is unchanged when its size and mtime match the catalog; otherwise its
content hash decides (a touched but identical file is not re-embedded, and a copy
of an indexed file reuses its vector). Decoding runs in threads while the model
runs, and every batch is committed as soon as it is embedded, so an interrupted
run keeps its progress.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from selfsim.data.files import file_sha256, find_images
from selfsim.data.reader import DEFAULT_MAX_PIXELS, read_image
from selfsim.errors import ImageReadError
from selfsim.index.catalog import NewImage
from selfsim.index.index import Index
from selfsim.models.embedder import Embedder
from selfsim.models.phash import phash64

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class SyncReport:
    """What one ``sync`` did; ``skipped`` lists every file that could not be read."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    reused: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def embedded(self) -> int:
        return self.added + self.updated - self.reused


@dataclass(frozen=True)
class _Prepared:
    path: str
    stat: os.stat_result
    sha256: str
    width: int = 0
    height: int = 0
    phash: int = 0
    pixels: torch.Tensor | None = None  # None when the vector is reused


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def sync(
    index: Index,
    encoder: Embedder,
    paths: Sequence[str | os.PathLike[str]],
    *,
    batch_size: int = 32,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_plan: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SyncReport:
    """Make the index hold exactly the readable images under ``paths``.

    Images indexed from other folders are kept; images under ``paths`` that are
    gone (or no longer readable) are removed.

    Args:
        on_plan: called once with the number of files to embed.
        on_progress: called with the number of files handled since the last call.
    """
    images, others = find_images(paths)
    report = SyncReport(skipped=[SkippedFile(str(p.resolve()), "not an image file") for p in others])
    roots = [str(Path(p).resolve()) for p in paths]
    existing = {r.path: r for r in index.records()}
    known_sha = {r.sha256 for r in existing.values()}

    todo: list[tuple[str, os.stat_result]] = []
    seen: set[str] = set()
    for p in images:
        path = str(p.resolve())
        if path in seen:
            continue
        seen.add(path)
        st = os.stat(path)
        rec = existing.get(path)
        if rec is not None and rec.size == st.st_size and rec.mtime_ns == st.st_mtime_ns:
            report.unchanged += 1
        else:
            todo.append((path, st))

    gone = [r.id for path, r in existing.items() if _under(path, roots) and path not in seen]
    if gone:
        index.remove(gone)
        report.removed += len(gone)

    if on_plan is not None:
        on_plan(len(todo))
    fingerprint = index.model.fingerprint

    def prepare(item: tuple[str, os.stat_result]) -> _Prepared | SkippedFile:
        path, st = item
        try:
            sha = file_sha256(path)
            if sha in known_sha:
                return _Prepared(path, st, sha)
            img = read_image(path, min_side=encoder.config.input_size, max_pixels=max_pixels)
            return _Prepared(path, st, sha, img.width, img.height, phash64(img), encoder.preprocess(img))
        except ImageReadError as e:
            return SkippedFile(path, e.reason)
        except OSError as e:
            return SkippedFile(path, f"cannot read file ({e.strerror or e})")

    batch: list[_Prepared] = []

    def flush() -> None:
        nonlocal batch
        fresh = [b for b in batch if b.pixels is not None]
        done: dict[str, tuple[np.ndarray, int, int, int]] = {}  # sha256 -> vector, w, h, phash
        if fresh:
            x = torch.stack([b.pixels for b in fresh if b.pixels is not None])
            with torch.inference_mode():
                out = encoder(x.to(encoder.device)).float().cpu().numpy()
            done = {b.sha256: (v, b.width, b.height, b.phash) for b, v in zip(fresh, out)}
        rows = []
        for b in batch:
            found = done.get(b.sha256) or index.catalog.twin(b.sha256, fingerprint)
            if found is None:  # its twin vanished meanwhile: embed it after all
                try:
                    img = read_image(b.path, min_side=encoder.config.input_size, max_pixels=max_pixels)
                except ImageReadError as e:
                    report.skipped.append(SkippedFile(b.path, e.reason))
                    continue
                found = (encoder.embed([img])[0], img.width, img.height, phash64(img))
            elif b.pixels is None:
                report.reused += 1
            vector, width, height, phash = found
            rows.append(
                NewImage(b.path, b.sha256, b.stat.st_size, b.stat.st_mtime_ns, width, height, vector, phash)
            )
            if b.path in existing:
                report.updated += 1
            else:
                report.added += 1
        if rows:
            index.add(rows)
        batch = []

    encoder.eval()
    stale: list[int] = []
    for result in _ordered_map(prepare, todo, workers, prefetch=batch_size * 2):
        if isinstance(result, SkippedFile):
            report.skipped.append(result)
            if result.path in existing:  # it changed into something unreadable
                stale.append(existing[result.path].id)
        else:
            batch.append(result)
            known_sha.add(result.sha256)
            if len(batch) >= batch_size:
                flush()
        if on_progress is not None:
            on_progress(1)
    flush()
    if stale:
        index.remove(stale)
        report.removed += len(stale)
    index.save()
    return report


def _ordered_map(
    fn: Callable[[tuple[str, os.stat_result]], _Prepared | SkippedFile],
    items: list[tuple[str, os.stat_result]],
    workers: int,
    prefetch: int,
) -> Iterator[_Prepared | SkippedFile]:
    """``map`` over a thread pool with at most ``prefetch`` results in flight."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: list[Future[_Prepared | SkippedFile]] = []
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
