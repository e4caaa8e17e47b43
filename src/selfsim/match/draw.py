"""Drawing a match: both images side by side, inlier lines, and the matched region."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from selfsim.match.geometry import project
from selfsim.match.matcher import MatchResult


def draw_match(a: Image.Image, b: Image.Image, result: MatchResult, height: int = 480, max_lines: int = 200) -> Image.Image:
    """Return a picture of the evidence: A left, B right, inliers joined by lines,
    A's matched box outlined in A and its homography image outlined in B."""
    sa, sb = height / a.height, height / b.height
    left = np.asarray(a.resize((max(1, round(a.width * sa)), height)))
    right = np.asarray(b.resize((max(1, round(b.width * sb)), height)))
    canvas = np.ascontiguousarray(np.hstack([left, right]))
    off = left.shape[1]
    color = (40, 200, 40) if result.match else (220, 50, 50)
    rng = np.random.default_rng(0)
    idx = np.arange(len(result.points_a))
    if len(idx) > max_lines:
        idx = rng.choice(idx, size=max_lines, replace=False)
    for i in idx:
        xa, ya = result.points_a[i] * sa
        xb, yb = result.points_b[i] * sb
        cv2.line(canvas, (int(xa), int(ya)), (int(xb + off), int(yb)), color, 1, cv2.LINE_AA)
    if result.box_a is not None:
        x0, y0, x1, y1 = result.box_a
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        cv2.polylines(canvas, [(corners * sa).astype(np.int32)], True, (255, 200, 0), 2, cv2.LINE_AA)
        if result.homography is not None:
            quad, _ = project(result.homography, corners)
            pts = (quad * sb + [off, 0]).astype(np.int32)
        else:
            bx0, by0, bx1, by1 = result.box_b or (0, 0, 0, 0)
            pts = (np.array([[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]]) * sb + [off, 0]).astype(np.int32)
        cv2.polylines(canvas, [pts], True, (255, 200, 0), 2, cv2.LINE_AA)
    label = f"{'MATCH' if result.match else 'no match'}  score {result.score:.3f}  inliers {result.inliers}"
    cv2.putText(canvas, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(canvas, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, color, 2, cv2.LINE_AA)
    return Image.fromarray(canvas)
