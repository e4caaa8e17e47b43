"""The affine pass: a picture seen at 70 degrees of tilt, which plain SIFT misses, is
matched through simulated tilted views, and unrelated pictures still are not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from selfsim.match import Matcher
from selfsim.match.affine import simulated_features, view_params
from selfsim.match.geometry import project

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _tilted(img: Image.Image, tilt: float, axis: float, spin: float) -> tuple[Image.Image, np.ndarray]:
    """The photo as a pinhole camera sees it, tilted by ``tilt`` degrees about an axis
    at ``axis`` degrees in its plane, then turned by ``spin``; and that homography."""
    w, h = img.size
    t, ax, sp = np.radians([tilt, axis, spin])
    d = 1.5 * max(w, h)
    Rz = np.array([[np.cos(ax), -np.sin(ax), 0], [np.sin(ax), np.cos(ax), 0], [0, 0, 1]])
    Rx = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    Rs = np.array([[np.cos(sp), -np.sin(sp), 0], [np.sin(sp), np.cos(sp), 0], [0, 0, 1]])
    R = Rs @ Rz @ Rx @ Rz.T
    P = np.diag([d, d, 1.0]) @ np.column_stack([R[:, 0], R[:, 1], [0, 0, d]])
    H = P @ np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    corners, _ = project(H, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))
    lo, hi = corners.min(0), corners.max(0)
    H = np.array([[1, 0, -lo[0]], [0, 1, -lo[1]], [0, 0, 1]]) @ H
    size = (int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1])))
    return Image.fromarray(cv2.warpPerspective(np.asarray(img), H, size, flags=cv2.INTER_AREA)), H / H[2, 2]


def _error(H: np.ndarray, H_true: np.ndarray, size: tuple[int, int]) -> float:
    w, h = size
    g = np.stack(np.meshgrid(np.linspace(0, w - 1, 8), np.linspace(0, h - 1, 8)), -1).reshape(-1, 2)
    return float(np.linalg.norm(project(H, g)[0] - project(H_true, g)[0], axis=1).mean())


def test_a_view_at_70_degrees_is_matched_only_with_the_affine_pass() -> None:
    img = Image.open(FIXTURES / "baboon.jpg").convert("RGB")
    view, H_true = _tilted(img, tilt=70, axis=40, spin=25)
    plain = Matcher(affine=False).match(img, view)
    assert not plain.match and plain.passes == ("plain",)
    r = Matcher().match(img, view)
    assert r.match and r.passes == ("plain", "affine") and "tilted views" in r.reason
    assert r.inliers >= 3 * plain.inliers
    assert _error(r.homography, H_true, img.size) < 1.0
    assert r.to_json_dict()["passes"] == ["plain", "affine"]


def test_the_affine_pass_runs_only_where_the_plain_pass_fails() -> None:
    img = Image.open(FIXTURES / "baboon.jpg").convert("RGB")
    view, _ = _tilted(img, tilt=40, axis=40, spin=25)
    assert Matcher().match(img, view).passes == ("plain",)
    other = Image.open(FIXTURES / "orange.jpg").convert("RGB")
    r = Matcher().match(img, other)
    assert not r.match and "affine" in r.passes
    assert Matcher(mode="fundamental").match(img, other).passes == ("plain",)  # homography mode only


def test_simulated_views_are_in_the_pictures_own_pixels() -> None:
    img = Image.open(FIXTURES / "baboon.jpg").convert("RGB").resize((600, 400))
    tilts, rolls = view_params((2.0,), 72.0)
    assert tilts == [2.0] * 5 and rolls == [0.0, 36.0, 72.0, 108.0, 144.0]
    views = simulated_features(img, max_side=300)  # simulated at half size, points in full size
    assert len(views) > 100 and views.descriptors.shape[1] == 128
    lo, hi = views.points.min(0), views.points.max(0)  # within the picture, to the views' resampling
    assert (lo > -3).all() and hi[0] < 603 and hi[1] < 403
    assert views.points[:, 0].max() > 450 and views.points[:, 1].max() > 300
