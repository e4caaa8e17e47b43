"""Geometric verification: a robust model through matched points, and sanity checks.

OpenCV's USAC with MAGSAC++ scoring (Barath et al., CVPR 2020) fits a homography
(flat scenes, edited copies) or a fundamental matrix (3D scenes). Many "inliers"
mean little on their own: unrelated pictures with repeated texture or text can
yield a hundred inliers of a degenerate homography that folds the image or
collapses it to a line. :func:`homography_is_plausible` rejects those, and the
inliers' spread (convex-hull coverage) goes into the calibrated score.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from selfsim.names import GEOMETRY_MODES

MODES = GEOMETRY_MODES


@dataclass(frozen=True)
class GeometryFit:
    """A fitted model and which matches agree with it.

    Attributes:
        model: 3x3 homography (A -> B pixels) or fundamental matrix; None if none fit.
        inliers: boolean mask over the matches.
        reason: why there is no model, or "" if there is one.
    """

    model: np.ndarray | None
    inliers: np.ndarray
    reason: str = ""


def fit_geometry(pa: np.ndarray, pb: np.ndarray, mode: str, threshold: float) -> GeometryFit:
    """Fit ``mode`` through matched points ``pa[i] <-> pb[i]`` (n, 2)."""
    n = len(pa)
    need = 4 if mode == "homography" else 8
    if n < need:
        return GeometryFit(None, np.zeros(n, bool), f"only {n} matches (need {need})")
    if mode == "homography":
        model, mask = cv2.findHomography(pa, pb, cv2.USAC_MAGSAC, threshold, maxIters=5000, confidence=0.9999)
    else:
        model, mask = cv2.findFundamentalMat(pa, pb, cv2.USAC_MAGSAC, threshold, 0.9999, 5000)
        if model is not None and model.shape != (3, 3):  # several solutions stacked: take the first
            model = model[:3]
    if model is None or mask is None:
        return GeometryFit(None, np.zeros(n, bool), "no geometric model fits the matches")
    return GeometryFit(model, mask.ravel().astype(bool))


def project(H: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a homography to (n, 2) points; also returns the projective depths w."""
    xyw = np.c_[pts, np.ones(len(pts))] @ H.T
    return xyw[:, :2] / xyw[:, 2:3], xyw[:, 2]


def box_of(pts: np.ndarray) -> tuple[float, float, float, float]:
    """Axis-aligned box (x0, y0, x1, y1) around points."""
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))


def hull_coverage(pts: np.ndarray, size: tuple[int, int]) -> float:
    """Area of the points' convex hull as a share of the image area."""
    if len(pts) < 3:
        return 0.0
    hull = cv2.convexHull(pts.astype(np.float32))
    return float(cv2.contourArea(hull)) / float(size[0] * size[1])


def homography_is_plausible(H: np.ndarray, inliers_a: np.ndarray) -> str:
    """Return "" if ``H`` is a plausible edit of the region spanned by the inliers, else why not.

    Rejects: non-finite matrices; scale changes beyond 1:30; mirror images of the
    region (SIFT is not mirror-invariant, so a mirrored fit is spurious); regions
    folded or sent through infinity (projective depth must stay positive over the
    inlier box); and projected regions that are not convex.
    """
    if not np.isfinite(H).all() or abs(H[2, 2]) < 1e-12:
        return "degenerate homography"
    H = H / H[2, 2]
    det = float(np.linalg.det(H[:2, :2]))
    if det <= 0:
        return "homography mirrors or folds the image"
    if not 1 / 900 <= det <= 900:
        return f"implausible scale change (area x{det:.3g})"
    x0, y0, x1, y1 = box_of(inliers_a)
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    projected, w = project(H, corners)
    if (w <= 1e-6).any():
        return "homography sends part of the region to infinity"
    if not cv2.isContourConvex(projected.astype(np.float32).reshape(-1, 1, 2)):
        return "homography twists the region"
    return ""


#: Inliers lie on one line when the spread across it is under this share of the spread
#: along it; on one plane when a homography explains this share of them.
LINE_SPREAD = 0.05
PLANE_SHARE = 0.9


def fundamental_is_plausible(inliers_a: np.ndarray, inliers_b: np.ndarray, threshold: float) -> str:
    """Return "" if the inliers of a fundamental matrix determine it; "plane" if one
    homography explains them (points on one plane, or no camera motion: then any
    epipole fits, and the pair is better judged as a homography); else why not."""
    for name, pts in (("A", inliers_a), ("B", inliers_b)):
        s = np.linalg.svd(pts - pts.mean(axis=0), compute_uv=False)
        if len(s) < 2 or s[1] < LINE_SPREAD * s[0]:
            return f"the matches lie on one line in {name}: no fundamental matrix is determined"
    H, mask = cv2.findHomography(inliers_a, inliers_b, cv2.USAC_MAGSAC, threshold, maxIters=2000, confidence=0.999)
    if H is not None and mask is not None and mask.sum() >= PLANE_SHARE * len(inliers_a):
        return "plane"
    return ""

