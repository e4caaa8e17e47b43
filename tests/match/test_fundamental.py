"""Fundamental mode on a real 3D pair: its own calibration, and degenerate fits refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.match import Calibration, Matcher
from selfsim.match.geometry import fundamental_is_plausible

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def stereo() -> tuple[Image.Image, Image.Image]:
    """OpenCV's aloe stereo pair (Debian's opencv-doc, fetched once into the cache)."""
    from selfsim.data.samples import opencv_data

    data = opencv_data()
    pair = []
    for name in ("aloeL.jpg", "aloeR.jpg"):
        img = read_image(data / name)
        img.thumbnail((640, 640))
        pair.append(img)
    return pair[0], pair[1]


def test_the_shipped_fundamental_calibration_is_its_own() -> None:
    cal = Calibration.default("fundamental")
    assert cal != Calibration.default()
    assert "two-view" in cal.source and cal.n_positive >= 40 and cal.n_negative >= 100


def test_a_real_stereo_pair_matches_and_an_unrelated_pair_does_not(stereo) -> None:
    left, right = stereo
    m = Matcher(mode="fundamental")
    r = m.match(left, right)
    assert r.match, r.reason
    assert "fundamental" in r.reason and r.homography is None and r.inliers >= 50
    other = m.match(left, Image.open(FIXTURES / "baboon.jpg").convert("RGB"))
    assert not other.match and other.score < 0.5


def test_inliers_on_one_line_or_one_plane_do_not_determine_a_fundamental_matrix() -> None:
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 400, 60)
    line = np.c_[t, 0.5 * t + 10 + rng.normal(0, 0.3, 60)]
    assert "one line" in fundamental_is_plausible(line, line + 5, 2.0)
    plane_a = rng.uniform(0, 400, (60, 2))
    H = np.array([[0.9, 0.1, 20], [-0.05, 1.1, 5], [1e-4, 0, 1]])
    xyw = np.c_[plane_a, np.ones(60)] @ H.T
    assert fundamental_is_plausible(plane_a, xyw[:, :2] / xyw[:, 2:3], 2.0) == "plane"
