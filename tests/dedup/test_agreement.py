"""Copies agree with their original once aligned; another shot of the scene does not."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

from selfsim.dedup.agreement import agreement, fit_colours

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402

SCALE = np.diag([0.5, 0.5, 1.0])  # A (640 x 480) to its half-size copy


def scene(seed: int, ball_at: int) -> Image.Image:
    img = make_picture(seed, (640, 480))
    ImageDraw.Draw(img).ellipse((ball_at, 120, ball_at + 220, 340), fill=(250, 250, 40), outline=(0, 0, 0), width=6)
    return img


def test_an_edited_copy_agrees() -> None:
    a = scene(1, 60)
    b = ImageEnhance.Brightness(a.resize((320, 240))).enhance(1.3)
    buf = io.BytesIO()
    b.save(buf, format="JPEG", quality=40)
    b = Image.open(buf).convert("RGB")
    g = agreement(a, b, SCALE)
    assert g.overlap > 0.95 and g.changed < 0.15 and g.copy  # clipped highlights and JPEG blocks differ a little


def test_a_burst_shot_with_something_moved_does_not() -> None:
    a, b = scene(1, 60), scene(1, 360).resize((320, 240))  # the same background, the ball moved
    g = agreement(a, b, SCALE)
    assert g.overlap > 0.95 and g.changed > 0.25 and not g.copy


def test_a_crop_is_compared_where_it_overlaps() -> None:
    a = scene(2, 60)
    b = a.crop((100, 50, 500, 400))
    H = np.array([[1.0, 0, -100], [0, 1.0, -50], [0, 0, 1]])  # A pixels to B pixels
    g = agreement(a, b, H)
    assert 0.3 < g.overlap < 0.6 and g.copy


def test_a_hue_shifted_copy_agrees_once_its_colours_are_fitted() -> None:
    a = scene(1, 60)
    hsv = np.asarray(a.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + 40) % 256  # 56 degrees round the colour wheel
    b = Image.fromarray(hsv, "HSV").convert("RGB")
    g = agreement(a, b, np.eye(3))
    assert g.changed < 0.2 and g.copy  # compared in grey without the colour fit: 0.42


def test_the_colour_fit_ignores_a_caption() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(1000, 3)).astype(np.float32)
    M = np.array([[0.8, 0.1, 0.0], [0.0, 0.9, 0.2], [0.1, 0.0, 0.7]], np.float32)
    y = x @ M.T + 12  # B's colours: an affine map of A's
    y[:200] = 255  # a fifth of B under a white caption
    coef = fit_colours(x, y)
    back = np.c_[y, np.ones(len(y), np.float32)] @ coef
    assert np.allclose(back[200:], x[200:], atol=0.5)
