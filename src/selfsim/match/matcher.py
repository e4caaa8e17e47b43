"""``Matcher``: is B the same picture (or object, or scene) as A? With the evidence."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageOps

from selfsim.json_values import finite as _finite
from selfsim.match.affine import with_simulated
from selfsim.match.calibration import MIN_INLIERS, Calibration
from selfsim.match.features import FeatureExtractor, LocalFeatures
from selfsim.match.geometry import (
    MODES,
    box_of,
    fit_geometry,
    fundamental_is_plausible,
    homography_is_plausible,
    hull_coverage,
)
from selfsim.match.matching import match_features
from selfsim.match.mirror import can_mirror, mirrored, unmirror
from selfsim.match.refine import MIN_REFIT, guided_pairs, keeps_inliers, rectify, refit, settled

Box = tuple[float, float, float, float]

#: Fewer keypoints than this means a flat or tiny image: nothing to verify.
MIN_KEYPOINTS = 8
#: A fundamental matrix constrains each match to a line, not a point, so chance
#: matches agree with one far more often (8 of 15 between unrelated photos, seen
#: here). Besides its own calibration, a verdict needs this many inliers: unrelated
#: pairs reached 13 on the calibration data (benchmarks/fit_fundamental.py).
MIN_INLIERS_FUNDAMENTAL = 20
#: The affine pass joins A's features with those of its simulated views, so chance
#: matches have more to choose from. Besides the calibrated score, its verdict needs this
#: many inliers: unrelated pairs reached 7 or 8 through it on the tuning split, and the
#: strongly tilted views it recovered had 11 to 114 (one had 8).
MIN_INLIERS_AFFINE = 10
#: The mirror probe: keypoints of B's mirror image matched against A, and the matches
#: that make a full mirrored pass worth its cost (see :func:`_mirror_is_likely`). On the
#: hard-geometry tuning split, 40 mirrored views gave 20 to 400 probe matches (median
#: 105) and 40 unrelated pairs 1 to 17 (median 6, two at 15 or more).
MIRROR_PROBE = 300
MIRROR_PROBE_MATCHES = 15


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
        mirrored: B is a mirror image of A's content (left-right); the homography,
            box and points are still in B's own pixels.
        passes: the verification passes that ran, in order: ``plain``, then
            ``mirror`` (B's mirror image) and ``affine`` (simulated tilted views of A)
            where the ones before found no match.
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
    mirrored: bool = False
    passes: tuple[str, ...] = ("plain",)

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
            "mirrored": self.mirrored,
            "passes": list(self.passes),
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
        refine: bring a verified homography to sub-pixel accuracy
            (:mod:`selfsim.match.refine`); the verdict does not depend on it.
        mirror: when A and B do not match, also try B's mirror image (SIFT only).
        affine: when A and B still do not match, also try simulated tilted views of A
            (:mod:`selfsim.match.affine`; SIFT and homography mode only). It finds
            views at 50 to 60 degrees of tilt and costs about 0.3 s more per pair
            that does not match.
    """

    def __init__(
        self,
        method: str = "sift",
        mode: str = "homography",
        calibration: Calibration | None = None,
        max_side: int = 1024,
        max_features: int = 2000,
        refine: bool = True,
        mirror: bool = True,
        affine: bool = True,
    ) -> None:
        if mode not in MODES:
            from selfsim.errors import SelfsimError

            raise SelfsimError(f"unknown geometry mode '{mode}'; choose from: {', '.join(MODES)}")
        self.extractor = FeatureExtractor(method, max_side=max_side, max_features=max_features)
        self.mode = mode
        self.calibration = calibration or Calibration.default(mode)
        self.refine = refine
        self.mirror = mirror
        self.affine = affine
        self._plane: Matcher | None = None  # fundamental mode: judges pairs whose matches lie on one plane

    def features(self, image: Image.Image) -> LocalFeatures:
        return self.extractor.extract(image)

    def match(self, a: Image.Image, b: Image.Image, global_similarity: float | None = None) -> MatchResult:
        fa, fb = self.features(a), self.features(b)
        result = self.match_features(fa, fb, global_similarity)
        if not result.match and self._affine_applies(fa, fb):
            result = self._oblique(a, fa, fb, result)
        if not (self.refine and result.match and result.homography is not None):
            return result
        # With the pictures at hand, the last refinement step: rectified matching.
        H = result.homography
        if result.mirrored:
            b, H, fb = ImageOps.mirror(b), unmirror(H, b.width), mirrored(fb)  # the flip is its own inverse
        if settled(H, fa, fb):
            return result
        better = rectify(a, b, H, fa, self.extractor)
        if not keeps_inliers(better, result.points_a, _in_frame(result, b.width), self._tolerance(b.size)):
            return result
        return replace(result, homography=unmirror(better, b.width) if result.mirrored else better)

    def match_features(
        self, fa: LocalFeatures, fb: LocalFeatures, global_similarity: float | None = None
    ) -> MatchResult:
        for name, f in (("A", fa), ("B", fb)):
            if len(f) < MIN_KEYPOINTS:
                return _no_match(f"too little texture in {name} ({len(f)} keypoints)", similarity=global_similarity)
        result = self.verify(fa, fb, global_similarity)
        if result.match or not self.mirror or self.mode != "homography" or not (can_mirror(fa) and can_mirror(fb)):
            return result
        fb_mirror = mirrored(fb)
        if not _mirror_is_likely(fa, fb_mirror):
            return result
        flipped = self.verify(fa, fb_mirror, global_similarity)
        if not flipped.match:
            return replace(result, passes=("plain", "mirror"))
        w = fb.size[0]
        points_b = flipped.points_b.copy()
        points_b[:, 0] = (w - 1) - points_b[:, 0]
        H = flipped.homography
        return replace(flipped, homography=None if H is None else unmirror(H, w), points_b=points_b,
                       box_b=box_of(points_b), reason=flipped.reason + ", with B mirrored", mirrored=True,
                       passes=("plain", "mirror"))

    def _affine_applies(self, fa: LocalFeatures, fb: LocalFeatures) -> bool:
        return (self.affine and self.mode == "homography" and fa.method == "sift"
                and min(len(fa), len(fb)) >= MIN_KEYPOINTS)

    def _oblique(self, a: Image.Image, fa: LocalFeatures, fb: LocalFeatures, result: MatchResult) -> MatchResult:
        """The affine pass: A's features and its simulated tilted views against B."""
        passes = (*result.passes, "affine")
        tilted = self.verify(with_simulated(a, fa), fb, result.global_similarity, min_inliers=MIN_INLIERS_AFFINE)
        if not tilted.match:
            return replace(result, passes=passes)
        return replace(tilted, reason=tilted.reason + ", with tilted views of A simulated", passes=passes)

    def _tolerance(self, size_b: tuple[int, int]) -> float:
        """The robust fit's inlier tolerance, in B's pixels."""
        return max(2.0, 0.004 * float(np.hypot(*size_b)))

    def verify(self, fa: LocalFeatures, fb: LocalFeatures, global_similarity: float | None = None,
               min_inliers: int = MIN_INLIERS) -> MatchResult:
        """One geometric verification of B as it is (no mirror image tried); a verdict
        also needs ``min_inliers`` (in fundamental mode at least :data:`MIN_INLIERS_FUNDAMENTAL`)."""
        pairs = match_features(fa, fb)
        pa, pb = fa.points[pairs[:, 0]], fb.points[pairs[:, 1]]
        tolerance = self._tolerance(fb.size)
        fit = fit_geometry(pa, pb, self.mode, threshold=tolerance)
        if fit.model is None:
            return _no_match(fit.reason, len(pairs), similarity=global_similarity)
        ia, ib = pa[fit.inliers], pb[fit.inliers]
        n_in = int(fit.inliers.sum())
        H = fit.model / fit.model[2, 2] if self.mode == "homography" else None
        if H is not None:
            why = homography_is_plausible(H, ia)
            if why:
                return _no_match(why, len(pairs), n_in, global_similarity)
        else:
            why = fundamental_is_plausible(ia, ib, tolerance)
            if why == "plane":
                return self._on_one_plane(fa, fb, global_similarity)
            if why:
                return _no_match(why, len(pairs), n_in, global_similarity)
        coverage = min(hull_coverage(ia, fa.size), hull_coverage(ib, fb.size))
        ratio = n_in / max(len(pairs), 1)
        cal = self.calibration
        score = cal.probability(n_in, ratio, coverage)
        need = max(min_inliers, MIN_INLIERS_FUNDAMENTAL if self.mode == "fundamental" else MIN_INLIERS)
        verdict = cal.is_match(score, n_in) and n_in >= need
        reason = f"{n_in} of {len(pairs)} matches agree with one {self.mode}" + (
            f" (score {score:.3f} {'>=' if score >= cal.threshold else '<'} threshold {cal.threshold:.3f})"
        )
        if not verdict and score >= cal.threshold:
            reason += f", but a verdict needs at least {need} inliers"
        if verdict and H is not None and self.refine:
            H = self._refined(H, pa, pb, ia, ib, fa, fb, tolerance)
        return MatchResult(
            verdict, score, n_in, len(pairs), ratio, H, box_of(ia), box_of(ib), coverage,
            global_similarity, reason, ia, ib,
        )

    def _on_one_plane(self, fa: LocalFeatures, fb: LocalFeatures, global_similarity: float | None) -> MatchResult:
        """Fundamental mode, matches on one plane: a fundamental matrix is not determined
        by them (any epipole fits), so the pair is judged as a homography is."""
        if self._plane is None:
            self._plane = Matcher(self.extractor.method, "homography", max_side=self.extractor.max_side,
                                  max_features=self.extractor.max_features, refine=self.refine, mirror=False)
        r = self._plane.verify(fa, fb, global_similarity)
        return replace(r, reason="the matches lie on one plane, so they were judged by a homography: " + r.reason)

    def _refined(self, H: np.ndarray, pa: np.ndarray, pb: np.ndarray, ia: np.ndarray, ib: np.ndarray,
                 fa: LocalFeatures, fb: LocalFeatures, tolerance: float) -> np.ndarray:
        """Least squares on the matches, then on guided matches (the verdict is already made)."""
        better = refit(H, pa, pb)
        guided = guided_pairs(better, fa, fb)
        if len(guided) >= MIN_REFIT:
            better = refit(better, fa.points[guided[:, 0]], fb.points[guided[:, 1]])
        return better if keeps_inliers(better, ia, ib, tolerance) else H


def _mirror_is_likely(fa: LocalFeatures, fb_mirror: LocalFeatures) -> bool:
    """A cheap probe before a full mirrored pass: every n-th keypoint of the mirror
    image (about :data:`MIRROR_PROBE` of them) matched against A (ratio test and mutual
    check: without the mutual check, repeated texture gave unrelated pairs up to 63
    probe matches). A mirrored copy keeps many of them; unrelated pictures a handful.
    Verified search tries the mirror for every hit that fails, so the full pass must
    not run for each: the probe costs about 11 ms against 27 ms for a full pass."""
    step = max(1, len(fb_mirror) // MIRROR_PROBE)
    probe = LocalFeatures(fb_mirror.points[::step], fb_mirror.descriptors[::step], fb_mirror.size,
                          fb_mirror.method)
    return len(match_features(probe, fa)) >= MIRROR_PROBE_MATCHES


def _in_frame(result: MatchResult, width: int) -> np.ndarray:
    """B's inlier points in the frame the homography being refined maps into."""
    if not result.mirrored:
        return result.points_b
    points = result.points_b.copy()
    points[:, 0] = (width - 1) - points[:, 0]
    return points
