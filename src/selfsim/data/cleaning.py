"""Cleaning a folder before training: drop what would teach the model nothing.

Dropped, each with its reason: files that cannot be read (see ``reader.py``),
pictures smaller than ``min_side`` pixels on their shorter side, and exact
duplicates (same bytes) of a file already kept. The default minimum, 16 px, keeps
28 x 28 Fashion-MNIST digits valid input while dropping icons and 1-pixel spacers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from selfsim.atomic import atomic_write
from selfsim.data.files import file_sha256, find_images
from selfsim.data.reader import DEFAULT_MAX_PIXELS, read_image
from selfsim.errors import ImageReadError
from selfsim.names import CLEAN_MIN_SIDE

#: Shorter side, in pixels, below which a picture is dropped by default.
DEFAULT_MIN_SIDE = CLEAN_MIN_SIDE


@dataclass(frozen=True)
class DroppedFile:
    path: str
    reason: str


@dataclass
class CleanReport:
    """Files kept for training, and every dropped file with its reason."""

    kept: list[Path] = field(default_factory=list)
    dropped: list[DroppedFile] = field(default_factory=list)


def _check(path: Path, min_side: int, max_pixels: int) -> tuple[Path, str, str | None]:
    """(path, sha256, reason to drop or None)."""
    try:
        sha = file_sha256(path)
        read_image(path, min_side=min_side, max_pixels=max_pixels)  # decodes fully: proves it is readable
    except ImageReadError as e:
        return path, "", e.reason
    except OSError as e:
        return path, "", f"cannot read file ({e.strerror or e})"
    with Image.open(path) as header:  # the true size, not the JPEG draft's
        w, h = header.size
    if min(w, h) < min_side:
        return path, sha, f"too small: {w}x{h} (minimum side {min_side} px)"
    return path, sha, None


def clean(
    paths: Sequence[str | os.PathLike[str]],
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int = 2,
    on_plan: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> CleanReport:
    """Check every image under ``paths``; keep the first copy of each distinct file.

    ``on_plan`` receives the number of images found before checking starts (to size
    a progress bar); ``on_progress`` then 1 per image checked. With ``cache`` (a JSON
    file), results are remembered by path, size and modification time, so a second
    run (``selfsim train --resume``) checks only what changed.
    """
    images, skipped = find_images(paths)
    if on_plan is not None:
        on_plan(len(images))
    report = CleanReport(dropped=[DroppedFile(str(p), why) for p, why in skipped])
    seen: dict[str, Path] = {}
    params = {"version": 1, "min_side": min_side, "max_pixels": max_pixels}
    known = _load_cache(Path(cache), params) if cache is not None else {}
    results: dict[str, list] = {}

    def check(path: Path) -> tuple[Path, str, str | None]:
        try:
            st = path.stat()
        except OSError:
            return _check(path, min_side, max_pixels)
        stamp = [st.st_size, st.st_mtime_ns]
        hit = known.get(str(path))
        if hit is not None and hit[:2] == stamp:
            out = (path, hit[2], hit[3])
        else:
            out = _check(path, min_side, max_pixels)
        results[str(path)] = [*stamp, out[1], out[2]]
        return out

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for path, sha, reason in pool.map(check, images):
            if reason is not None:
                report.dropped.append(DroppedFile(str(path), reason))
            elif sha in seen:
                report.dropped.append(DroppedFile(str(path), f"exact duplicate (of {seen[sha]})"))
            else:
                seen[sha] = path
                report.kept.append(path)
            if on_progress is not None:
                on_progress(1)
    if cache is not None:
        _save_cache(Path(cache), {**params, "files": results})
    return report


def _load_cache(path: Path, params: dict[str, int]) -> dict[str, list]:
    """The cached results, if the file exists, parses and was made with ``params``."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in params.items()):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _save_cache(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data)

    def write(tmp: str) -> None:
        Path(tmp).write_text(text)

    atomic_write(path, write)
