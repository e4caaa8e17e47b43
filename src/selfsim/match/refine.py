"""Sub-pixel homographies: refining a verified fit, never deciding a verdict.

A robust fit (MAGSAC++) has to accept inliers within a tolerance of several pixels
to find the model at all, and its model is fitted to a minimal sample, weighted.
Three steps then bring it to sub-pixel accuracy (each measured on the hard-geometry
benchmark's tuning split; BENCHMARKS.md):

1. :func:`refit`: least squares (then Levenberg-Marquardt, OpenCV's) over the matches
   the model explains, with a tolerance that tightens each round (3, 2, 1.5 px).
2. :func:`guided_pairs`: matching again where the model says each point must land,
   which recovers the matches the ratio test dropped (repeated texture, and the
   descriptors a strong tilt distorts), then refitting on them.
3. :func:`rectify`: warping B into A's frame with the model, detecting again on the
   warped picture, and fitting the small remaining correction. After warping, the two
   pictures differ by almost nothing, so descriptors match in large numbers and
   keypoints are located alike. This needs the pictures themselves, so it runs in
   ``selfsim match``, not in a search's verification (which has cached features).
   It is skipped where step 2 is already sub-pixel (:func:`settled`): many guided
   matches, agreeing closely with the model.

Each step keeps its result only if it is a plausible homography that still explains
the verified inliers; otherwise the previous model stands.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from selfsim.match.features import FeatureExtractor, LocalFeatures
from selfsim.match.geometry import homography_is_plausible, project

#: Tolerances, in B's pixels, of the least-squares rounds.
REFIT_TOLERANCES = (3.0, 2.0, 1.5)
#: Guided matching: how far from its predicted position a match may be (B's pixels),
#: and the ratio between the best and second-best candidate there.
GUIDED_RADIUS = 6.0
GUIDED_RATIO = 0.9
#: Rectified refinement: the window (A's pixels) and the tolerances of its correction.
RECTIFY_RADIUS = 4.0
#: Guided matching compares each point with at most this many nearby keypoints.
GUIDED_CANDIDATES = 16
RECTIFY_TOLERANCES = (2.0, 1.0, 0.7)
#: Fewest matches a refinement step fits on.
MIN_REFIT = 8
#: Rectified matching is skipped when at least SETTLED_MATCHES guided matches lie within
#: a median SETTLED_RESIDUAL px (B's) of the model: on the hard-geometry tuning split, the
#: 47 of 187 matched pairs so judged were all within 0.37 px before rectification (the
#: median pair within 0.14 px), and rectification costs about 0.17 s on a 1-MP pair.
SETTLED_MATCHES = 300
SETTLED_RESIDUAL = 0.5


def refit(H: np.ndarray, pa: np.ndarray, pb: np.ndarray, tolerances: tuple[float, ...] = REFIT_TOLERANCES) -> np.ndarray:
    """Least-squares refits of ``H`` on the matches ``pa -> pb`` within each tolerance."""
    for tol in tolerances:
        projected, w = project(H, pa)
        near = (w > 0) & (np.linalg.norm(projected - pb, axis=1) < tol)
        if near.sum() < MIN_REFIT:
            break
        H2, _ = cv2.findHomography(pa[near].astype(np.float64), pb[near].astype(np.float64), 0)
        if H2 is None or not np.isfinite(H2).all() or abs(H2[2, 2]) < 1e-12:
            break
        H = H2 / H2[2, 2]
    return H


def guided_pairs(H: np.ndarray, fa: LocalFeatures, fb: LocalFeatures, radius: float = GUIDED_RADIUS,
                 ratio: float = GUIDED_RATIO) -> np.ndarray:
    """Index pairs ``(m, 2)``: each keypoint of A matched to the closest descriptor of
    B among the (up to 16) keypoints within ``radius`` of where ``H`` sends it, when
    that one beats the second-closest there by ``ratio``; each keypoint of B used once
    (the closest wins)."""
    from scipy.spatial import cKDTree

    if len(fa) == 0 or len(fb) < 2:
        return np.zeros((0, 2), np.int64)
    projected, w = project(H, fa.points.astype(np.float64))
    ok = (w > 0) & np.isfinite(projected).all(axis=1)
    projected[~ok] = -1e9  # finds nothing
    _, near = cKDTree(fb.points).query(projected, k=min(GUIDED_CANDIDATES, len(fb)), distance_upper_bound=radius)
    missing = near >= len(fb)
    da, db = fa.descriptors.astype(np.float32), fb.descriptors.astype(np.float32)
    dist = np.linalg.norm(db[np.where(missing, 0, near)] - da[:, None, :], axis=2)
    dist[missing] = np.inf
    order = np.argsort(dist, axis=1)[:, :2]
    best = np.take_along_axis(dist, order[:, :1], 1)[:, 0]
    second = np.take_along_axis(dist, order[:, 1:2], 1)[:, 0]
    keep = np.flatnonzero(np.isfinite(best) & (best < ratio * second))
    j = near[keep, order[keep, 0]]
    by_distance = np.argsort(best[keep], kind="stable")
    _, first = np.unique(j[by_distance], return_index=True)  # each B keypoint: its closest A
    chosen = by_distance[first]
    return np.column_stack([keep[chosen], j[chosen]]).astype(np.int64)


def settled(H: np.ndarray, fa: LocalFeatures, fb: LocalFeatures) -> bool:
    """Least squares on guided matches has already pinned ``H`` down (see the constants)."""
    pairs = guided_pairs(H, fa, fb)
    if len(pairs) < SETTLED_MATCHES:
        return False
    projected, _ = project(H, fa.points[pairs[:, 0]].astype(np.float64))
    residual = np.linalg.norm(projected - fb.points[pairs[:, 1]], axis=1)
    return float(np.median(residual)) < SETTLED_RESIDUAL


def rectify(a: Image.Image, b: Image.Image, H: np.ndarray, fa: LocalFeatures, extractor: FeatureExtractor) -> np.ndarray:
    """``H`` corrected by matching A against B warped into A's frame (see the module)."""
    w, h = a.size
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    # B seen from A: pixel p of the warp is B at H(p).
    warped = cv2.warpPerspective(np.asarray(b.convert("L")), H, (w, h), flags=flags)
    inside = cv2.warpPerspective(np.full((b.height, b.width), 255, np.uint8), H, (w, h),
                                 flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    fr = extractor.extract(Image.fromarray(warped))
    if len(fr) < MIN_REFIT:
        return H
    # Keypoints on the warp's edge describe the edge, not the picture.
    inside = cv2.erode(inside, np.ones((15, 15), np.uint8))
    xy = np.clip(np.rint(fr.points).astype(int), 0, [w - 1, h - 1])
    keep = inside[xy[:, 1], xy[:, 0]] > 0
    fr = LocalFeatures(fr.points[keep], fr.descriptors[keep], fr.size, fr.method)
    pairs = guided_pairs(np.eye(3), fa, fr, RECTIFY_RADIUS, GUIDED_RATIO)
    if len(pairs) < MIN_REFIT:
        return H
    correction = refit(np.eye(3), fa.points[pairs[:, 0]], fr.points[pairs[:, 1]], RECTIFY_TOLERANCES)
    out = H @ correction
    return out / out[2, 2]


def keeps_inliers(H: np.ndarray, pa: np.ndarray, pb: np.ndarray, tolerance: float) -> bool:
    """``H`` is plausible and still explains the verified inliers ``pa -> pb``: most
    of them within ``tolerance`` (the robust fit's own) of where it sends them."""
    if homography_is_plausible(H, pa):
        return False
    projected, w = project(H, pa)
    return bool((w > 0).all() and np.median(np.linalg.norm(projected - pb, axis=1)) < tolerance)
