"""``Matcher``: is B the same picture (or object, or scene) as A? With the evidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from selfsim.json_values import finite as _finite
from selfsim.match.calibration import MIN_INLIERS, Calibration
from selfsim.match.features import FeatureExtractor, LocalFeatures
from selfsim.match.geometry import (
    MODES,
    box_of,
    fit_geometry,
    homography_is_plausible,
    hull_coverage,
)
from selfsim.match.matching import match_features

Box = tuple[float, float, float, float]

#: Fewer keypoints than this means a flat or tiny image: nothing to verify.
MIN_KEYPOINTS = 8
#: A fundamental matrix constrains each match to a line, not a point, so chance
#: matches agree with one far more often (8 of 15 between unrelated photos, seen
#: here). Until it has its own calibration, it needs many more inliers.
MIN_INLIERS_FUNDAMENTAL = 30


@dataclass(frozen=True)
class MatchResult:
    """The verdict on a pair of images and the evidence for it.

    Attributes:
        match: the verdict (calibrated ``score >= threshold``).
        score: calibrated probability that the pair shows the same thing.
        inliers: matches consistent with the geometric model.
        matches: matches after the ratio test and mutual check.
        inlier_ratio: ``inliers / matches``.
        homography: 3x3 matrix mapping pixels of A (original resolution) to B, or None.
        box_a, box_b: the matched region in each image (x0, y0, x1, y1), or None.
        coverage: share of the smaller image-relative inlier hull (0..1).
        global_similarity: embedding cosine similarity, when an encoder was given.
        reason: a short explanation of the verdict.
        points_a, points_b: inlier coordinates (for drawing), (k, 2).
    """

    match: bool
    score: float
    inliers: int
    matches: int
    inlier_ratio: float
    homography: np.ndarray | None
    box_a: Box | None
    box_b: Box | None
    coverage: float
    global_similarity: float | None
    reason: str
    points_a: np.ndarray
    points_b: np.ndarray

    def to_json_dict(self) -> dict[str, object]:
        """The result as plain JSON values; a NaN or infinite number becomes null (JSON has no NaN)."""
        return {
            "match": self.match,
            "score": _finite(self.score, 6),
            "inliers": self.inliers,
            "homography": None if self.homography is None else [[_finite(v) for v in row] for row in self.homography],
            "global_similarity": None if self.global_similarity is None else _finite(self.global_similarity, 6),
            "matches": self.matches,
            "inlier_ratio": _finite(self.inlier_ratio, 6),
            "box_a": None if self.box_a is None else [_finite(v, 2) for v in self.box_a],
            "box_b": None if self.box_b is None else [_finite(v, 2) for v in self.box_b],
            "reason": self.reason,
        }


def _no_match(reason: str, matches: int = 0, inliers: int = 0, similarity: float | None = None) -> MatchResult:
    empty = np.zeros((0, 2), np.float32)
    return MatchResult(False, 0.0, inliers, matches, 0.0, None, None, None, 0.0, similarity, reason, empty, empty)


class Matcher:
    """Local features + ratio/mutual matching + MAGSAC geometry + calibrated verdict.

    Args:
        method: local features, ``sift`` (default), ``orb`` or ``akaze``.
        mode: ``homography`` (flat scenes, edited copies) or ``fundamental`` (3D).
        calibration: turns statistics into a probability and verdict; the shipped
            default when None.
        max_side: features are detected at this longer side at most.
    """

    def __init__(
        self,
        method: str = "sift",
        mode: str = "homography",
        calibration: Calibration | None = None,
        max_side: int = 1024,
        max_features: int = 2000,
    ) -> None:
        if mode not in MODES:
            from selfsim.errors import SelfsimError

            raise SelfsimError(f"unknown geometry mode '{mode}'; choose from: {', '.join(MODES)}")
        self.extractor = FeatureExtractor(method, max_side=max_side, max_features=max_features)
        self.mode = mode
        self.calibration = calibration or Calibration.default()

    def features(self, image: Image.Image) -> LocalFeatures:
        return self.extractor.extract(image)

    def match(self, a: Image.Image, b: Image.Image, global_similarity: float | None = None) -> MatchResult:
        return self.match_features(self.features(a), self.features(b), global_similarity)

    def match_features(
        self, fa: LocalFeatures, fb: LocalFeatures, global_similarity: float | None = None
    ) -> MatchResult:
        for name, f in (("A", fa), ("B", fb)):
            if len(f) < MIN_KEYPOINTS:
                return _no_match(f"too little texture in {name} ({len(f)} keypoints)", similarity=global_similarity)
        pairs = match_features(fa, fb)
        pa, pb = fa.points[pairs[:, 0]], fb.points[pairs[:, 1]]
        diag = float(np.hypot(*fb.size))
        fit = fit_geometry(pa, pb, self.mode, threshold=max(2.0, 0.004 * diag))
        if fit.model is None:
            return _no_match(fit.reason, len(pairs), similarity=global_similarity)
        ia, ib = pa[fit.inliers], pb[fit.inliers]
        n_in = int(fit.inliers.sum())
        H = fit.model / fit.model[2, 2] if self.mode == "homography" else None
        if H is not None:
            why = homography_is_plausible(H, ia)
            if why:
                return _no_match(why, len(pairs), n_in, global_similarity)
        coverage = min(hull_coverage(ia, fa.size), hull_coverage(ib, fb.size))
        ratio = n_in / max(len(pairs), 1)
        cal = self.calibration
        score = cal.probability(n_in, ratio, coverage)
        verdict = cal.is_match(score, n_in) and (self.mode == "homography" or n_in >= MIN_INLIERS_FUNDAMENTAL)
        reason = f"{n_in} of {len(pairs)} matches agree with one {self.mode}" + (
            f" (score {score:.3f} {'>=' if score >= cal.threshold else '<'} threshold {cal.threshold:.3f})"
        )
        if not verdict and score >= cal.threshold:
            need = MIN_INLIERS_FUNDAMENTAL if self.mode == "fundamental" else MIN_INLIERS
            reason += f", but a verdict needs at least {need} inliers"
        return MatchResult(
            verdict, score, n_in, len(pairs), ratio, H, box_of(ia), box_of(ib), coverage,
            global_similarity, reason, ia, ib,
        )
