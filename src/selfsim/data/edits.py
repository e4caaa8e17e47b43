"""Edits that copies of pictures really undergo, for building copy-detection queries.

Each edit takes an RGB image and a seeded ``numpy.random.Generator`` (and, for
``paste``, a background picture) and returns a new RGB image. They are used by the
benchmarks and, later, by ``selfsim eval`` on a user's own unlabeled folder.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

Edit = Callable[[Image.Image, np.random.Generator, Image.Image | None], Image.Image]

_WORDS = ["SALE", "copy", "meme", "2024", "lol", "breaking", "news", "wow", "repost", "#art", "look"]


def crop(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    """Keep 35-75% of the area at a random place."""
    w, h = img.size
    area = rng.uniform(0.35, 0.75)
    aspect = rng.uniform(0.75, 1.33)
    cw = int(min(w, max(16, w * np.sqrt(area * aspect))))
    ch = int(min(h, max(16, h * np.sqrt(area / aspect))))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def rotate(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    angle = float(rng.uniform(8, 30) * rng.choice([-1, 1]))
    return img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=bool(rng.integers(0, 2)), fillcolor=(0, 0, 0))


def jpeg(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(4, 12)))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def blur(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.006, 0.015)) * max(img.size)))


def color(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    img = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.6, 1.4)))
    img = ImageEnhance.Contrast(img).enhance(float(rng.uniform(0.6, 1.5)))
    img = ImageEnhance.Color(img).enhance(float(rng.uniform(0.3, 1.8)))
    hsv = np.asarray(img.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + int(rng.integers(-40, 41))) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def grayscale(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    return ImageOps.grayscale(img).convert("RGB")


def text(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    """Two to four lines of large text in random colours."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    for _line in range(int(rng.integers(2, 5))):
        size = int(h * rng.uniform(0.07, 0.14))
        font = ImageFont.load_default(size=max(size, 8))
        words = " ".join(rng.choice(_WORDS, size=int(rng.integers(1, 4))))
        xy = (int(rng.uniform(0, 0.5) * w), int(rng.uniform(0, 0.85) * h))
        fill = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.text(xy, words, font=font, fill=fill, stroke_width=max(1, size // 15), stroke_fill=(0, 0, 0))
    return out


def paste(img: Image.Image, rng: np.random.Generator, background: Image.Image | None = None) -> Image.Image:
    """Paste the picture, scaled to 35-60% of the width, onto another picture."""
    if background is None:
        background = Image.new("RGB", img.size, tuple(int(c) for c in rng.integers(0, 256, size=3)))
    bg = background.copy()
    bw, bh = bg.size
    scale = rng.uniform(0.35, 0.6) * bw / img.width
    fw, fh = max(8, int(img.width * scale)), max(8, int(img.height * scale))
    if fh > bh:
        fw, fh = max(8, int(fw * bh / fh * 0.9)), int(bh * 0.9)
    fg = img.resize((fw, fh), Image.Resampling.BILINEAR)
    bg.paste(fg, (int(rng.integers(0, bw - fw + 1)), int(rng.integers(0, bh - fh + 1))))
    return bg


def flip(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    return ImageOps.mirror(img)


def border(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    pad = int(max(img.size) * rng.uniform(0.08, 0.25))
    fill = tuple(int(c) for c in rng.integers(0, 256, size=3))
    return ImageOps.expand(img, border=pad, fill=fill)


def perspective(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    w, h = img.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = rng.uniform(0.05, 0.18, size=(4, 2)) * [w, h]
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)
    dst = (src + jitter * signs).astype(np.float32)
    H = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(np.asarray(img), H, (w, h), flags=cv2.INTER_LINEAR)
    return Image.fromarray(out)


def pixelate(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    factor = int(rng.integers(10, 24))
    small = img.resize((max(1, img.width // factor), max(1, img.height // factor)), Image.Resampling.BILINEAR)
    return small.resize(img.size, Image.Resampling.NEAREST)


def noise(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    arr = np.asarray(img, dtype=np.float64) + rng.normal(0, rng.uniform(15, 35), size=(img.height, img.width, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def stretch(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    sx, sy = rng.uniform(0.6, 1.5, size=2)
    return img.resize((max(8, int(img.width * sx)), max(8, int(img.height * sy))), Image.Resampling.BILINEAR)


EDITS: dict[str, Edit] = {
    "crop": crop,
    "rotate": rotate,
    "jpeg": jpeg,
    "blur": blur,
    "color": color,
    "grayscale": grayscale,
    "text": text,
    "paste": paste,
    "flip": flip,
    "border": border,
    "perspective": perspective,
    "pixelate": pixelate,
    "noise": noise,
    "stretch": stretch,
}


def chain(img: Image.Image, rng: np.random.Generator, other: Image.Image | None = None) -> tuple[Image.Image, str]:
    """Apply two or three different random edits in a row; returns the image and their names."""
    names = list(rng.choice(sorted(EDITS), size=int(rng.integers(2, 4)), replace=False))
    for name in names:
        img = EDITS[name](img, rng, other)
    return img, "+".join(names)


def make_copy(img: Image.Image, name: str, rng: np.random.Generator, other: Image.Image | None = None) -> tuple[Image.Image, str]:
    """Apply edit ``name`` (or ``chain``); returns the edited image and a description."""
    if name == "chain":
        return chain(img, rng, other)
    return EDITS[name](img, rng, other), name
