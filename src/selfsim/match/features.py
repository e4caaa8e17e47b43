"""Local features (keypoints + descriptors) through one interface over OpenCV.

Features are detected on a copy of the image whose longer side is at most
``max_side`` pixels, and keypoints are scaled back to the original file's pixel
coordinates, so homographies map original pixels to original pixels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from selfsim.errors import SelfsimError
from selfsim.names import FEATURE_METHODS

METHODS = FEATURE_METHODS
#: Bumped whenever the same picture would give other features (2: SIFT keypoints of the
#: upscaled first octave placed precisely).
FEATURES_VERSION = 2


@dataclass(frozen=True)
class LocalFeatures:
    """Keypoints of one image.

    Attributes:
        points: (n, 2) float32 x, y in the original image's pixels.
        descriptors: (n, d) uint8 (SIFT values are integers 0..255 in OpenCV, so
            uint8 stores them exactly; ORB/AKAZE are binary strings).
        size: (width, height) of the original image.
        method: ``sift``, ``orb`` or ``akaze``.
    """

    points: np.ndarray
    descriptors: np.ndarray
    size: tuple[int, int]
    method: str

    def __len__(self) -> int:
        return len(self.points)

    @property
    def binary(self) -> bool:
        return self.method != "sift"

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, points=self.points.astype(np.float32), descriptors=self.descriptors,
                 size=np.asarray(self.size, np.int64), method=np.asarray(self.method))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LocalFeatures:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            w, h = (int(v) for v in z["size"])
            return cls(z["points"], z["descriptors"], (w, h), str(z["method"]))


class FeatureExtractor:
    """Detect and describe keypoints with OpenCV.

    Args:
        method: ``sift`` (default; float descriptors, most accurate), ``orb`` (fast,
            binary) or ``akaze`` (binary, scale-aware).
        max_side: longer side of the image features are detected on.
        max_features: cap on keypoints (strongest kept).
    """

    def __init__(self, method: str = "sift", max_side: int = 1024, max_features: int = 2000) -> None:
        if method not in METHODS:
            raise SelfsimError(f"unknown feature method '{method}'; choose from: {', '.join(METHODS)}")
        self.method = method
        self.max_side = max_side
        self.max_features = max_features
        if method == "sift":
            # A lower contrast threshold than OpenCV's 0.04 finds keypoints in smooth,
            # low-contrast photos (skies, gradients) where the default finds a handful.
            self._detector = cv2.SIFT_create(nfeatures=max_features, contrastThreshold=0.02, enable_precise_upscale=True)  # type: ignore[attr-defined]
        elif method == "orb":
            self._detector = cv2.ORB_create(nfeatures=max_features)  # type: ignore[attr-defined]
        else:
            self._detector = cv2.AKAZE_create(threshold=0.0008)  # type: ignore[attr-defined]

    @property
    def cache_key(self) -> str:
        """What cached features of this extractor are filed under: its method, its
        parameters and :data:`FEATURES_VERSION`, so that features detected differently
        are never mixed with these."""
        return f"{self.method}/{self.max_side}/{self.max_features}/v{FEATURES_VERSION}"

    def extract(self, image: Image.Image) -> LocalFeatures:
        gray, scale = self.gray(image)
        kps, desc = self._detector.detectAndCompute(gray, None)
        return self.to_features(kps, desc, scale, image.size, self.max_features)

    def gray(self, image: Image.Image) -> tuple[np.ndarray, float]:
        """The grey image features are detected on, and its scale to the original."""
        w, h = image.size
        scale = min(1.0, self.max_side / max(w, h))
        gray = np.asarray(image.convert("L"))
        if scale < 1.0:
            gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        return gray, scale

    def to_features(self, kps: Sequence[cv2.KeyPoint], desc: np.ndarray | None, scale: float,
                 size: tuple[int, int], cap: int) -> LocalFeatures:
        """OpenCV's keypoints found at ``scale`` as features in the original's pixels
        (the ``cap`` strongest)."""
        if desc is None or not kps:
            return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 0), np.uint8), size, self.method)
        if len(kps) > cap:  # AKAZE has no cap of its own
            order = np.argsort([-k.response for k in kps])[:cap]
            kps, desc = [kps[i] for i in order], desc[order]
        pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
        # Centre-of-pixel convention: (x + 0.5) / scale - 0.5 maps back to original pixels.
        pts = (pts + 0.5) / scale - 0.5
        if self.method == "sift":
            desc = np.clip(np.rint(desc), 0, 255).astype(np.uint8)
        return LocalFeatures(pts, desc, size, self.method)
