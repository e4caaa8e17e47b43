"""Synthetic image pairs with known answers, made from a user's own pictures.

- :func:`warp_pair`: a picture and a perspective-warped, photometrically changed
  copy, with the ground-truth homography (for homography accuracy).
- :func:`calibration_pairs`: edited copies (positives) and pairs of different
  pictures (negatives), for fitting the match threshold.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from selfsim.data.edits import make_copy

#: Edits a matcher should see through with one pass of its features (pixelation defeats
#: local features; a mirror image needs the matcher's second, mirrored pass, so it is
#: left out of calibration pairs, which score the first pass).
MATCHABLE_EDITS = (
    "crop", "rotate", "jpeg", "blur", "color", "grayscale", "text", "paste", "border", "perspective",
    "noise", "stretch",
)


def random_homography(size: tuple[int, int], rng: np.random.Generator, strength: float = 0.15) -> np.ndarray:
    """A homography that moves each corner by up to ``strength`` of the image size,
    combined with a rotation of up to 20 degrees and a scale of 0.7-1.1 about the centre."""
    w, h = size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = src + rng.uniform(-strength, strength, size=(4, 2)).astype(np.float32) * [w, h]
    H = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    angle, scale = rng.uniform(-20, 20), rng.uniform(0.7, 1.1)
    R = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale), [0, 0, 1]])
    return R @ H


def warp_pair(img: Image.Image, rng: np.random.Generator, strength: float = 0.15) -> tuple[Image.Image, np.ndarray]:
    """Warp ``img`` by a random homography (into an image of the same size) and
    change brightness, contrast, blur and noise; returns the copy and H (img -> copy)."""
    H = random_homography(img.size, rng, strength)
    warped = cv2.warpPerspective(np.asarray(img), H, img.size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    out = Image.fromarray(warped)
    out = ImageEnhance.Brightness(out).enhance(float(rng.uniform(0.7, 1.3)))
    out = ImageEnhance.Contrast(out).enhance(float(rng.uniform(0.7, 1.3)))
    if rng.random() < 0.5:
        out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.5))))
    arr = np.asarray(out, np.float64) + rng.normal(0, rng.uniform(1, 6), size=(img.height, img.width, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), H


def calibration_pairs(
    images: Sequence[Image.Image], rng: np.random.Generator, copies_per_image: int = 2, negatives: int | None = None
) -> Iterator[tuple[Image.Image, Image.Image, bool]]:
    """Yield ``(copy_or_other, original, is_same)`` pairs.

    Positives are edits from :data:`MATCHABLE_EDITS` of each picture (the edited
    copy first, as a query is); negatives pair two different pictures.
    """
    n = len(images)
    for i, img in enumerate(images):
        for c in range(copies_per_image):
            edit = MATCHABLE_EDITS[(i * copies_per_image + c) % len(MATCHABLE_EDITS)]
            other = images[(i + 1 + int(rng.integers(max(n - 1, 1)))) % n]
            copy, _ = make_copy(img, edit, rng, other)
            yield copy, img, True
    for _ in range(negatives if negatives is not None else n * copies_per_image * 2):
        i, j = rng.choice(n, size=2, replace=False)
        yield images[int(i)], images[int(j)], False
