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
import shutil
from pathlib import Path

from selfsim.data.samples import opencv_data, photo_files
from selfsim.eval.copyset import CopySet, build_copy_set

# One picture per scene; synthetic drawings, charts and logos left out.
OPENCV_PICTURES = [
    "Blender_Suzanne1.jpg", "HappyFish.jpg", "LinuxLogo.jpg", "aero1.jpg", "aloeL.jpg", "apple.jpg",
    "baboon.jpg", "basketball1.png", "blox.jpg", "board.jpg", "box_in_scene.png", "building.jpg",
    "butterfly.jpg", "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg",
    "left01.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg",
    "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg",
    "stuff.jpg", "sudoku.png", "text_defocus.jpg", "imageTextN.png",
]


def source_pictures() -> list[Path]:
    photos = photo_files()
    data = opencv_data()
    return photos + [data / name for name in OPENCV_PICTURES]


def copy_set(out: Path, seed: int = 0, copies_per_picture: int = 2) -> CopySet:
    """The set in ``out`` (``refs/``, ``queries/``, ``copyset.json``), made by the same
    function as ``selfsim eval`` (:func:`selfsim.eval.copyset.build_copy_set`)."""
    return build_copy_set(source_pictures(), out, seed=seed, copies=copies_per_picture)


def build(out: Path, seed: int = 0, copies_per_picture: int = 2) -> dict[str, str | None]:
    """Make the set; returns query file name -> reference file name, or None."""
    return copy_set(out, seed, copies_per_picture).truth


def edits_of(out: Path) -> dict[str, str]:
    return json.loads((out / "copyset.json").read_text())["edits"]


def source_folder(out: Path) -> Path:
    """The source pictures copied into one folder, named so that sorting keeps their
    order: ``selfsim eval`` on it with the same seed makes the very same set."""
    out.mkdir(parents=True, exist_ok=True)
    sources = source_pictures()
    for i, src in enumerate(sources):
        dest = out / f"{i:04d}-{src.name}"
        if not dest.exists():
            shutil.copyfile(src, dest)
    return out
