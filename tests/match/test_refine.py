"""Sub-pixel refinement: more accurate homographies, and never another verdict."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from selfsim.match import Matcher
from selfsim.match.geometry import project
from selfsim.match.refine import refit

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _mean_error(H: np.ndarray, H_true: np.ndarray, size: tuple[int, int]) -> float:
    w, h = size
    g = np.stack(np.meshgrid(np.linspace(0, w - 1, 8), np.linspace(0, h - 1, 8)), -1).reshape(-1, 2)
    return float(np.linalg.norm(project(H, g)[0] - project(H_true, g)[0], axis=1).mean())


def _strong_view(img: Image.Image) -> tuple[Image.Image, np.ndarray]:
    """A 40-degree tilt, a 30-degree turn and 0.8x, as a camera would see the photo."""
    w, h = img.size
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[60, 40], [w - 10, 90], [w - 70, h - 60], [30, h - 20]])
    H = cv2.getPerspectiveTransform(src, dst)
    R = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), 30, 0.8), [0, 0, 1]])
    H = R @ H
    view = cv2.warpPerspective(np.asarray(img), H, (w, h), flags=cv2.INTER_LINEAR)
    noisy = np.clip(view.astype(np.float64) + np.random.default_rng(0).normal(0, 4, view.shape), 0, 255)
    return Image.fromarray(noisy.astype(np.uint8)), H / H[2, 2]


def test_refinement_brings_a_strong_warp_under_a_pixel() -> None:
    img = Image.open(FIXTURES / "baboon.jpg").convert("RGB").resize((512, 512))
    view, H_true = _strong_view(img)
    plain = Matcher(refine=False).match(img, view)
    refined = Matcher().match(img, view)
    assert plain.match and refined.match
    e_plain = _mean_error(plain.homography, H_true, img.size)
    e_refined = _mean_error(refined.homography, H_true, img.size)
    assert e_refined < 1.0, (e_plain, e_refined)
    # Better than the robust fit alone, or both already within a tenth of a pixel
    # (SIFT's precise upscaling makes the plain fit this good on a clean view).
    assert e_refined < max(e_plain, 0.1), (e_plain, e_refined)
    # The verdict and its evidence are the first pass's.
    assert (refined.score, refined.inliers, refined.matches) == (plain.score, plain.inliers, plain.matches)


def test_refinement_does_not_change_a_rejection() -> None:
    a = Image.open(FIXTURES / "baboon.jpg").convert("RGB")
    b = Image.open(FIXTURES / "orange.jpg").convert("RGB")
    plain, refined = Matcher(refine=False).match(a, b), Matcher().match(a, b)
    assert not refined.match and not plain.match
    assert refined.score == plain.score
    same = refined.homography is None and plain.homography is None
    assert same or np.array_equal(refined.homography, plain.homography)


def test_refit_recovers_an_exact_homography_from_noisy_matches_with_outliers() -> None:
    rng = np.random.default_rng(1)
    H_true = np.array([[1.1, 0.05, 12], [-0.04, 0.95, -7], [1e-4, -5e-5, 1]])
    pa = rng.uniform(0, 500, (300, 2))
    pb = project(H_true, pa)[0] + rng.normal(0, 0.3, (300, 2))
    pb[:60] += rng.uniform(-40, 40, (60, 2))  # outliers
    start = H_true @ np.array([[1, 0, 2.0], [0, 1, -1.5], [0, 0, 1]])  # off by about 2.5 px
    assert _mean_error(refit(start, pa, pb), H_true, (500, 500)) < 0.15
