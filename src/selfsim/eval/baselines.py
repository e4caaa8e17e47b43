"""Classical baselines that selfsim is measured against, side by side.

- pHash (imagehash): 64-bit DCT hash; score = 1 - Hamming distance / 64.
- ORB + RANSAC (OpenCV): score = number of homography inliers after a ratio test.
"""

from __future__ import annotations

import cv2
import imagehash
import numpy as np
from PIL import Image


def phash_bits(img: Image.Image) -> np.ndarray:
    """The 64 pHash bits of an image, as a bool array."""
    return np.asarray(imagehash.phash(img).hash, dtype=bool).ravel()


def phash_similarity(xq: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """(nq, 64), (nb, 64) bool -> (nq, nb) similarity in [0, 1]."""
    diff = (xq[:, None, :] != xb[None, :, :]).sum(-1)
    return 1.0 - diff / xq.shape[1]


class OrbRansac:
    """ORB features matched with a ratio test and verified by a RANSAC homography."""

    def __init__(self, n_features: int = 1000, max_side: int = 640, ratio: float = 0.8) -> None:
        self.orb = cv2.ORB_create(nfeatures=n_features)  # type: ignore[attr-defined]
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self.max_side = max_side
        self.ratio = ratio

    def features(self, img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        gray = np.asarray(img.convert("L"))
        scale = self.max_side / max(gray.shape)
        if scale < 1:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        kps, desc = self.orb.detectAndCompute(gray, None)
        pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
        return pts, desc

    def inliers(
        self, a: tuple[np.ndarray, np.ndarray | None], b: tuple[np.ndarray, np.ndarray | None]
    ) -> int:
        (pa, da), (pb, db) = a, b
        if da is None or db is None or len(da) < 2 or len(db) < 2:
            return 0
        good = [m for m, n in (p for p in self.matcher.knnMatch(da, db, k=2) if len(p) == 2)
                if m.distance < self.ratio * n.distance]
        if len(good) < 4:
            return 0
        src = pa[[m.queryIdx for m in good]]
        dst = pb[[m.trainIdx for m in good]]
        _H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
        return 0 if mask is None else int(mask.sum())
