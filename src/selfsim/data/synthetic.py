"""Generated pictures for tests, benchmarks and examples: distinct, textured, and the
same for the same seed on every machine."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def synthetic_picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A distinct, textured picture: a smooth colour field plus a dozen shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    low = rng.uniform(0, 255, size=(6, 8, 3)).astype(np.uint8)
    img = Image.fromarray(low).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(15, w // 2)), y0 + int(rng.integers(15, h // 2))
        fill = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    return img


def smooth_picture(seed: int, size: tuple[int, int] = (800, 520)) -> Image.Image:
    """A smooth, soft picture with almost no keypoints, as gradient wallpapers are:
    a colour field and four large shapes, blurred."""
    rng = np.random.default_rng(seed)
    w, h = size
    low = rng.uniform(0, 255, size=(3, 4, 3)).astype(np.uint8)
    img = Image.fromarray(low).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = int(rng.integers(-w // 4, w)), int(rng.integers(-h // 4, h))
        x1, y1 = x0 + int(rng.integers(w // 4, w)), y0 + int(rng.integers(h // 4, h))
        draw.ellipse((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 256, size=3)))
    return img.filter(ImageFilter.GaussianBlur(0.03 * max(w, h)))
