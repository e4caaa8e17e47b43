"""Generated pictures for tests, benchmarks and examples: distinct, textured, and the
same for the same seed on every machine."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


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
