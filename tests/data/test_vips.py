"""data/vips.py: WebP read at reduced size by libvips, as Pillow would read it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.data import vips
from selfsim.data.reader import ORIGINAL_SIZE, read_image
from selfsim.data.synthetic import synthetic_picture
from selfsim.errors import ImageReadError

pytestmark = pytest.mark.skipif(not vips.available(), reason="pyvips/libvips not installed")


def pillow_only(monkeypatch) -> None:
    monkeypatch.setattr(vips, "_pyvips", lambda: None)


def test_webp_is_read_small_and_like_pillow(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.webp"
    synthetic_picture(3, (2400, 1350)).save(path, quality=90)
    fast = read_image(path, min_side=224)
    data = read_image(path.read_bytes(), min_side=224)
    pillow_only(monkeypatch)
    slow = read_image(path, min_side=224)
    assert fast.size == slow.size == data.size == (400, 225) and fast.mode == "RGB"
    assert fast.info[ORIGINAL_SIZE] == (2400, 1350)
    assert np.abs(np.asarray(fast, np.float32) - np.asarray(slow, np.float32)).mean() < 3
    assert np.array_equal(np.asarray(fast), np.asarray(data))


def test_transparency_is_white_unless_kept(tmp_path: Path) -> None:
    rgba = np.zeros((900, 1200, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 600:, 3] = 255  # left half transparent
    path = tmp_path / "alpha.webp"
    Image.fromarray(rgba, "RGBA").save(path, lossless=True)
    flat = np.asarray(read_image(path, min_side=224))
    assert flat[:, :100].min() >= 250 and abs(int(flat[:, -100:, 0].mean()) - 200) <= 2
    kept = read_image(path, min_side=224, keep_alpha=True)
    assert kept.mode == "RGBA" and np.asarray(kept)[:, :100, 3].max() == 0


def test_a_file_changed_in_place_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "same-name.webp"
    Image.new("RGB", (1600, 900), (250, 0, 0)).save(path)
    first = np.asarray(read_image(path, min_side=224)).mean(axis=(0, 1))
    Image.new("RGB", (1600, 900), (0, 0, 250)).save(path)
    second = np.asarray(read_image(path, min_side=224)).mean(axis=(0, 1))
    assert first[0] > 200 and second[2] > 200  # no cached first read


def test_damaged_webp_falls_back_to_pillow_and_its_error(tmp_path: Path) -> None:
    out = io.BytesIO()
    synthetic_picture(1, (1600, 900)).save(out, "WEBP", quality=80)
    data = out.getvalue()
    path = tmp_path / "cut.webp"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError):
        read_image(path, min_side=224)


def test_small_animated_and_png_pictures_stay_with_pillow(tmp_path: Path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(vips, "shrink_read", lambda *a, **k: calls.append(a) or None)
    synthetic_picture(2, (300, 200)).save(tmp_path / "small.webp")  # no reduction to gain
    synthetic_picture(2, (1600, 900)).save(tmp_path / "big.png")
    frames = [synthetic_picture(i, (1600, 900)) for i in range(2)]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:])
    for name in ("small.webp", "big.png", "anim.webp"):
        read_image(tmp_path / name, min_side=224)
    assert calls == []
