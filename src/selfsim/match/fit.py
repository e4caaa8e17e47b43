"""Fitting a match calibration on a user's own pictures (``selfsim calibrate``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from selfsim.data.pairs import calibration_pairs
from selfsim.match.calibration import Calibration, fit_calibration, stats_vector
from selfsim.match.matcher import Matcher


def pair_stats(matcher: Matcher, a: Image.Image, b: Image.Image) -> np.ndarray:
    """The calibration features of one pair (zeros when geometry fails)."""
    r = matcher.match(a, b)
    if r.box_a is None:  # no geometric model, or an implausible one: no evidence
        return stats_vector(0, 0.0, 0.0)
    return stats_vector(r.inliers, r.inlier_ratio, r.coverage)


def calibrate(
    images: Sequence[Image.Image],
    matcher: Matcher,
    *,
    seed: int = 0,
    copies_per_image: int = 2,
    source: str = "user pictures",
    on_pair: Callable[[], None] | None = None,
) -> Calibration:
    """Fit the verdict threshold on edited copies and different-picture pairs of ``images``."""
    rng = np.random.default_rng(seed)
    pos: list[np.ndarray] = []
    neg: list[np.ndarray] = []
    for a, b, same in calibration_pairs(images, rng, copies_per_image):
        (pos if same else neg).append(pair_stats(matcher, a, b))
        if on_pair is not None:
            on_pair()
    return fit_calibration(np.array(pos), np.array(neg), source=f"{source}: {len(images)} pictures")
