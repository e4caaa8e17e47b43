"""Mirrored copies: re-ordered SIFT descriptors stand for a mirror image's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from selfsim.data.pairs import warp_pair
from selfsim.match import Matcher
from selfsim.match.geometry import project
from selfsim.match.matching import match_features
from selfsim.match.mirror import can_mirror, mirrored, unmirror

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _photo() -> Image.Image:
    return Image.open(FIXTURES / "baboon.jpg").convert("RGB").resize((384, 384))


def test_mirrored_features_match_those_detected_on_the_mirror_image() -> None:
    img = _photo()
    matcher = Matcher()
    own = matcher.features(ImageOps.mirror(img))
    derived = mirrored(matcher.features(img))
    pairs = match_features(derived, own)
    same_place = np.linalg.norm(derived.points[pairs[:, 0]] - own.points[pairs[:, 1]], axis=1) < 1.5
    # Measured: most keypoints find their twin; unpermuted descriptors find almost none.
    assert same_place.sum() > 0.5 * len(own)
    plain = match_features(matcher.features(img), own)
    assert len(plain) < 0.2 * len(own)


def test_a_mirrored_warped_copy_is_verified_in_the_copys_own_pixels() -> None:
    img = _photo()
    warped, H_true = warp_pair(img, np.random.default_rng(5), strength=0.1)
    copy = ImageOps.mirror(warped)
    w = copy.width
    H_copy = np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]) @ H_true
    r = Matcher().match(img, copy)
    assert r.match and r.mirrored, r.reason
    assert "mirrored" in r.reason and r.to_json_dict()["mirrored"] is True
    corners = np.array([[0, 0], [383, 0], [383, 383], [0, 383]], float)
    err = np.linalg.norm(project(r.homography, corners)[0] - project(H_copy, corners)[0], axis=1).mean()
    assert err < 2.0
    assert r.box_b is not None and 0 <= r.box_b[0] < r.box_b[2] <= w


def test_unmirrored_pairs_are_not_reported_mirrored_and_binary_features_are_not_mirrored() -> None:
    img = _photo()
    warped, _ = warp_pair(img, np.random.default_rng(6), strength=0.1)
    assert not Matcher().match(img, warped).mirrored
    orb = Matcher("orb")
    assert not can_mirror(orb.features(img))
    assert not orb.match(img, ImageOps.mirror(warped)).mirrored


def test_unmirror_maps_into_the_original_pixels() -> None:
    H = np.eye(3)
    assert np.allclose(project(unmirror(H, 100), np.array([[0.0, 5.0], [99.0, 7.0]]))[0], [[99, 5], [0, 7]])
