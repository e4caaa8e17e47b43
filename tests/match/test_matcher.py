"""Matching against known homographies, and clean refusals on hopeless input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.data.pairs import warp_pair
from selfsim.match import Calibration, LocalFeatures, Matcher, fit_calibration
from selfsim.match.geometry import homography_is_plausible, project
from selfsim.match.matching import match_features

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _corner_error(H: np.ndarray, H_true: np.ndarray, size: tuple[int, int]) -> float:
    w, h = size
    c = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
    return float(np.linalg.norm(project(H, c)[0] - project(H_true, c)[0], axis=1).mean())


@pytest.mark.parametrize("method", ["sift", "orb", "akaze"])
def test_known_homography_is_recovered(method: str) -> None:
    img = Image.open(FIXTURES / "baboon.jpg").convert("RGB").resize((384, 384))
    warped, H_true = warp_pair(img, np.random.default_rng(3), strength=0.1)
    r = Matcher(method).match(img, warped)
    assert r.match, r.reason
    assert r.homography is not None
    assert _corner_error(r.homography, H_true, img.size) < 5.0


def test_different_pictures_do_not_match() -> None:
    a = Image.open(FIXTURES / "baboon.jpg").convert("RGB")
    b = Image.open(FIXTURES / "orange.jpg").convert("RGB")
    r = Matcher().match(a, b)
    assert not r.match and r.score < 0.5


@pytest.mark.parametrize(
    "a,b,reason",
    [
        (Image.new("RGB", (200, 200), (90, 90, 90)), None, "too little texture"),
        (Image.new("RGB", (3, 3)), None, "too little texture"),
    ],
)
def test_hopeless_pairs_give_a_reason_not_an_exception(a: Image.Image, b: Image.Image | None, reason: str) -> None:
    b = b or Image.open(FIXTURES / "orange.jpg").convert("RGB")
    r = Matcher().match(a, b)
    assert not r.match and reason in r.reason
    assert r.to_json_dict()["homography"] is None


def test_mutual_ratio_matching_by_hand() -> None:
    d = np.array([[0] * 8, [255] * 8, [0, 255] * 4, [255, 0] * 4], np.uint8)
    pts = np.zeros((4, 2), np.float32)
    a = LocalFeatures(pts, d, (10, 10), "sift")
    b = LocalFeatures(pts, d[[2, 0, 3, 1]], (10, 10), "sift")
    assert sorted(map(tuple, match_features(a, b).tolist())) == [(0, 1), (1, 3), (2, 0), (3, 2)]


def test_folding_homography_is_rejected() -> None:
    pts = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], float)
    mirror = np.array([[-1, 0, 100], [0, 1, 0], [0, 0, 1]], float)
    assert "mirror" in homography_is_plausible(mirror, pts)
    assert homography_is_plausible(np.eye(3), pts) == ""


def test_calibration_fit_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pos = np.c_[np.log1p(rng.integers(20, 300, 40)), rng.uniform(0.7, 1, 40), rng.uniform(0.3, 0.9, 40)]
    neg = np.c_[np.log1p(rng.integers(0, 6, 80)), rng.uniform(0, 0.5, 80), rng.uniform(0, 0.2, 80)]
    cal = fit_calibration(pos, neg, "synthetic")
    assert cal.precision == 1.0 and cal.recall == 1.0
    assert cal.probability(200, 0.9, 0.5) > cal.threshold > cal.probability(5, 0.3, 0.05)
    cal.save(tmp_path / "c.json")
    assert Calibration.load(tmp_path / "c.json") == cal
    assert Calibration.default().n_positive > 0  # the shipped one was fitted on data


def test_fundamental_mode_judges_a_flat_pair_by_its_homography() -> None:
    img = Image.open(FIXTURES / "baboon.jpg").convert("RGB").resize((384, 384))
    warped, H_true = warp_pair(img, np.random.default_rng(5), strength=0.05)
    m = Matcher(mode="fundamental")
    same = m.match(img, warped)
    # A warp is one plane: no fundamental matrix is determined, a homography is.
    assert same.match and "one plane" in same.reason
    assert same.homography is not None and _corner_error(same.homography, H_true, img.size) < 2
    other = m.match(img, Image.open(FIXTURES / "orange.jpg").convert("RGB"))
    assert not other.match
