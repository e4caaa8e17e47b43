"""A copy-detection set made from a folder of unlabeled pictures.

Part of the pictures is held out. The rest are the references (what gets indexed).
Every picture, held out or not, gets edited copies as queries (the edits of
:mod:`selfsim.data.edits`, in turn): a copy's right answer is the picture it was
made from, and copies of held-out pictures have no right answer, so a method that
calls everything a copy is caught. Pictures are pasted only onto held-out pictures,
so that a query never shows two references.

``benchmarks/copy_detection.py`` builds its set with this function, so ``selfsim
eval`` on the same pictures and seed sees the same queries.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.edits import EDITS, make_copy
from selfsim.data.reader import DEFAULT_MAX_PIXELS, read_image
from selfsim.errors import ImageReadError, SelfsimError

log = logging.getLogger(__name__)

#: Every edit family, and "chain" (two or three edits in a row).
EDIT_NAMES = (*EDITS, "chain")
#: Pictures are shrunk to this longer side first (a copy set, not an archive).
MAX_SIDE = 1024
_LAYOUT = 1  # bump when the files written change


@dataclass(frozen=True)
class CopySet:
    """The files of a copy-detection set.

    Attributes:
        root: the folder holding ``refs/``, ``queries/`` and ``copyset.json``.
        refs: reference pictures (to index).
        queries: edited copies (to search with).
        truth: query file name -> its reference's file name, or None (held out).
        edits: query file name -> the edits made (``"crop"``, ``"blur+text"``).
        sources: picture file name -> the file it was made from.
        skipped: source files that could not be read, with the reason.
    """

    root: Path
    refs: list[Path]
    queries: list[Path]
    truth: dict[str, str | None]
    edits: dict[str, str]
    sources: dict[str, str]
    skipped: list[tuple[str, str]]

    @property
    def n_positives(self) -> int:
        return sum(v is not None for v in self.truth.values())


def check_edit_names(names: Sequence[str]) -> tuple[str, ...]:
    """The edit names, validated (``SelfsimError`` names the unknown ones)."""
    bad = [n for n in names if n not in EDIT_NAMES]
    if bad:
        raise SelfsimError(f"unknown edit(s) {', '.join(bad)}; choose from: {', '.join(EDIT_NAMES)}")
    if not names:
        raise SelfsimError(f"give at least one edit; choose from: {', '.join(EDIT_NAMES)}")
    return tuple(names)


def build_copy_set(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    holdout: float = 1 / 3,
    copies: int = 2,
    edits: Sequence[str] = EDIT_NAMES,
    max_side: int = MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_progress: Callable[[int], None] | None = None,
) -> CopySet:
    """Write ``out/refs``, ``out/queries`` and ``out/copyset.json`` from ``sources``.

    A set already in ``out`` with the same sources and settings is reused.

    Args:
        sources: picture files, in a fixed order (the seed draws from it).
        holdout: share of the pictures that are not references.
        copies: edited copies of each picture.
        edits: edit families used in turn (see :data:`EDIT_NAMES`).
        max_pixels: sources with more pixels are skipped (checked before decoding).
        on_progress: called with 1 for each source picture done.

    Raises:
        SelfsimError: bad settings, or fewer than 3 readable pictures.
    """
    edits = check_edit_names(edits)
    if not 0 < holdout < 1:
        raise SelfsimError(f"--holdout must be a share between 0 and 1, got {holdout}")
    if copies < 1:
        raise SelfsimError(f"--copies must be at least 1, got {copies}")
    out = Path(out)
    files = [os.fsdecode(s) for s in sources]
    settings = {"layout": _LAYOUT, "seed": seed, "holdout": holdout, "copies": copies, "edits": list(edits),
                "max_side": max_side, "max_pixels": max_pixels, "files": files}
    manifest = out / "copyset.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved.get("settings") == settings:
            return _copy_set(out, saved)
    pictures, skipped = _readable(files, max_side, max_pixels)
    if len(pictures) < 3:
        raise SelfsimError(f"an evaluation needs at least 3 readable pictures, found {len(pictures)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pictures))
    n_ref = round(len(pictures) * (1 - holdout))
    n_ref = min(max(n_ref, 1), len(pictures) - 1)
    for sub in ("refs", "queries"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old in (out / sub).iterdir():  # a set made with other settings
            old.unlink()
    width = max(3, len(str(len(pictures) - 1)))
    names = [f"pic{j:0{width}d}.jpg" for j in range(len(pictures))]
    held = {j: pictures[int(order[j])]() for j in range(n_ref, len(pictures))}  # paste backgrounds
    truth: dict[str, str | None] = {}
    made: dict[str, str] = {}
    q = 0
    for j in range(len(pictures)):
        img = held[j] if j in held else pictures[int(order[j])]()
        if j < n_ref:
            img.save(out / "refs" / names[j], quality=92)
        for c in range(copies):
            name = edits[(j * copies + c) % len(edits)]
            pool = [k for k in range(n_ref, len(pictures)) if k != j]
            other = held[pool[int(rng.integers(len(pool)))]] if pool else None
            edited, desc = make_copy(img, name, rng, other)
            qname = f"q{q:04d}.jpg"
            edited.convert("RGB").save(out / "queries" / qname, quality=90)
            truth[qname] = names[j] if j < n_ref else None
            made[qname] = desc
            q += 1
        if on_progress is not None:
            on_progress(1)
    used = {names[j]: pictures[int(order[j])].path for j in range(len(pictures))}
    saved = {"settings": settings, "truth": truth, "edits": made, "sources": used, "skipped": skipped}
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(saved, indent=1))
    tmp.replace(manifest)
    return _copy_set(out, saved)


class _Picture:
    """A readable source picture, loaded (shrunk) when called."""

    def __init__(self, path: str, max_side: int, max_pixels: int) -> None:
        self.path = path
        self.max_side = max_side
        self.max_pixels = max_pixels

    def __call__(self) -> Image.Image:
        img = read_image(self.path, min_side=self.max_side, max_pixels=self.max_pixels)
        img.thumbnail((self.max_side, self.max_side), Image.Resampling.LANCZOS)
        return img.convert("RGB")


def _readable(sources: list[str], max_side: int, max_pixels: int) -> tuple[list[_Picture], list[tuple[str, str]]]:
    """The sources that decode (checked once, cheaply), and the others with the reason."""
    pictures: list[_Picture] = []
    skipped: list[tuple[str, str]] = []
    for s in sources:
        try:
            read_image(s, min_side=8, max_pixels=max_pixels)
        except ImageReadError as e:
            skipped.append((s, e.reason))
            continue
        pictures.append(_Picture(s, max_side, max_pixels))
    return pictures, skipped


def _copy_set(out: Path, saved: dict) -> CopySet:
    truth = saved["truth"]
    refs = sorted({v for v in truth.values() if v is not None} | {
        n for n in saved["sources"] if (out / "refs" / n).exists()})
    return CopySet(
        root=out,
        refs=[out / "refs" / n for n in refs],
        queries=[out / "queries" / q for q in truth],
        truth=truth,
        edits=saved["edits"],
        sources=saved["sources"],
        skipped=[tuple(s) for s in saved["skipped"]],  # type: ignore[misc]
    )
