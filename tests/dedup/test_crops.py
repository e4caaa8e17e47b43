"""The crop and scale search finds crops and resized copies of smooth pictures, not other pictures."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from selfsim.data.synthetic import smooth_picture
from selfsim.dedup.agreement import agreement
from selfsim.dedup.crops import find_crop
from selfsim.dedup.finder import MIN_CROP_NCC
from selfsim.match import Matcher


def jpeg(img: Image.Image, quality: int = 80) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(buf).convert("RGB")


def stripes(size: tuple[int, int] = (800, 800)) -> Image.Image:
    """Vertical stripes 21 px apart under a soft vignette (a corrugated-card wallpaper)."""
    w, h = size
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    v = 150 + 60 * np.cos(2 * np.pi * x / 21) * np.exp(-((x - w / 2) ** 2 + (y - h / 2) ** 2) / (0.5 * w * h))
    return Image.fromarray(np.repeat(v[..., None], 3, axis=2).astype(np.uint8))


def test_a_smooth_picture_has_too_few_keypoints_to_match() -> None:
    assert len(Matcher().features(smooth_picture(0))) < 8  # why the search exists


def test_a_70_percent_crop_of_a_smooth_picture_is_found_where_it_was_cut() -> None:
    a = smooth_picture(0)  # 800 x 520
    b = jpeg(a.crop((100, 60, 770, 495)))  # 670 x 435: 70 % of the area
    fit = find_crop(a, b)
    assert fit is not None and not fit.a_inside_b
    assert fit.ncc > 0.99 and abs(fit.area - 0.70) < 0.02
    corner = fit.homography @ [100, 60, 1]
    assert np.allclose(corner[:2] / corner[2], [0, 0], atol=4)  # A's (100, 60) is B's origin
    assert agreement(a, b, fit.homography).copy


def test_a_half_size_copy_is_found_at_half_scale() -> None:
    a = smooth_picture(1)
    fit = find_crop(jpeg(a.resize((400, 260)), 60), a)
    assert fit is not None and fit.area > 0.98
    assert np.allclose(fit.homography[:2, :2], np.diag([2.0, 2.0]), atol=0.02)


def test_fine_stripes_are_aligned_in_scale_and_phase() -> None:
    a = stripes()
    b = a.crop((37, 52, 37 + 620, 52 + 660))  # 64 % of the area
    fit = find_crop(a, b)
    assert fit is not None and abs(fit.area - 0.64) < 0.005  # the scale to 0.3 %: 3 % off is out of phase
    x, y = -fit.homography[:2, 2] / fit.homography[0, 0]  # where B's origin is in A
    assert abs(y - 52) < 2 and min((x - 37) % 21, -(x - 37) % 21) < 1.5  # a whole period off is as good
    assert agreement(a, b, fit.homography).changed < 0.05


def test_a_different_smooth_picture_does_not_correlate_like_a_copy() -> None:
    a, other = smooth_picture(0), smooth_picture(1)
    fit = find_crop(a.crop((100, 60, 770, 495)), other)
    assert fit is not None and fit.ncc < MIN_CROP_NCC


def test_flat_pictures_and_far_too_different_shapes_give_no_placement() -> None:
    flat = Image.new("RGB", (400, 300), (40, 90, 200))
    assert find_crop(flat, flat.copy()) is None
    a = smooth_picture(2)
    assert find_crop(a, a.resize((800, 60))) is None  # either inside the other covers 12 % of it at most
