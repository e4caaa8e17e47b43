"""Build the copy-detection benchmark set from real pictures in Debian packages.

References: about two thirds of the distinct pictures, downscaled to 1024 px.
Queries: two edited copies of every picture, so about a third of the queries are
copies of pictures that are *not* indexed and must get low scores. Pictures are
pasted only onto non-indexed pictures, so that each query has one right answer. Groups of
OpenCV samples that show one scene (stereo pairs, consecutive frames, an edited
copy) contribute a single picture, so correct matches are never counted as errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.edits import EDITS, make_copy
from selfsim.data.reader import read_image
from selfsim.data.samples import opencv_data, photo_files

# One picture per scene; synthetic drawings, charts and logos left out.
OPENCV_PICTURES = [
    "Blender_Suzanne1.jpg", "HappyFish.jpg", "LinuxLogo.jpg", "aero1.jpg", "aloeL.jpg", "apple.jpg",
    "baboon.jpg", "basketball1.png", "blox.jpg", "board.jpg", "box_in_scene.png", "building.jpg",
    "butterfly.jpg", "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg",
    "left01.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg",
    "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg",
    "stuff.jpg", "sudoku.png", "text_defocus.jpg", "imageTextN.png",
]
EDIT_NAMES = [*EDITS, "chain"]
MAX_SIDE = 1024


def source_pictures() -> list[Path]:
    photos = photo_files()
    data = opencv_data()
    return photos + [data / name for name in OPENCV_PICTURES]


def _load(path: Path) -> Image.Image:
    img = read_image(path)
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return img


def build(out: Path, seed: int = 0, copies_per_picture: int = 2) -> dict[str, str | None]:
    """Write ``out/refs``, ``out/queries`` and ``out/truth.json``; returns the truth.

    The truth maps each query file name to its reference file name, or None.
    """
    truth_file = out / "truth.json"
    if truth_file.exists():
        return json.loads(truth_file.read_text())["truth"]
    rng = np.random.default_rng(seed)
    sources = source_pictures()
    order = rng.permutation(len(sources))
    n_ref = round(len(sources) * 2 / 3)
    (out / "refs").mkdir(parents=True, exist_ok=True)
    (out / "queries").mkdir(parents=True, exist_ok=True)
    pictures = [_load(sources[i]) for i in order]
    names = [f"pic{j:03d}.jpg" for j in range(len(pictures))]
    truth: dict[str, str | None] = {}
    edits: dict[str, str] = {}
    q = 0
    for j, img in enumerate(pictures):
        if j < n_ref:
            img.save(out / "refs" / names[j], quality=92)
        for c in range(copies_per_picture):
            name = EDIT_NAMES[(j * copies_per_picture + c) % len(EDIT_NAMES)]
            # The background of a pasted copy is never an indexed picture: a query that
            # shows two indexed pictures would have two right answers.
            pool = [k for k in range(n_ref, len(pictures)) if k != j]
            other = pictures[pool[int(rng.integers(len(pool)))]]
            edited, desc = make_copy(img, name, rng, other)
            qname = f"q{q:04d}.jpg"
            edited.save(out / "queries" / qname, quality=90)
            truth[qname] = names[j] if j < n_ref else None
            edits[qname] = desc
            q += 1
    sources_used = {names[j]: str(sources[i]) for j, i in enumerate(order)}
    truth_file.write_text(json.dumps({"truth": truth, "edits": edits, "sources": sources_used}, indent=1))
    return truth


def edits_of(out: Path) -> dict[str, str]:
    return json.loads((out / "truth.json").read_text())["edits"]
