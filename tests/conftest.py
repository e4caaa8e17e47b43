"""Shared fixtures: tiny real and generated pictures, and the default encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

FIXTURES = Path(__file__).parent / "fixtures"


def make_picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A distinct, textured synthetic picture: smooth colour field plus shapes."""
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


def picture_folder(folder: Path, n: int, size: tuple[int, int] = (40, 40)) -> Path:
    """``folder`` with ``n`` distinct small generated pictures, 0.png ... (for training tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        make_picture(i, size).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="session")
def encoder():
    from selfsim.models import default_encoder

    return default_encoder(device="cpu")


@pytest.fixture()
def photo_dir(tmp_path: Path) -> Path:
    """A folder of 8 distinct pictures: two real photos and six generated ones."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("baboon.jpg", "orange.jpg"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    for i in range(6):
        make_picture(i).save(folder / f"gen{i}.png")
    return folder
