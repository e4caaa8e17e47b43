"""Do two aligned pictures show the same pixels? Copies versus burst shots.

Different photos of one scene (a tripod series, consecutive frames, a stereo pair)
align geometrically almost as well as copies do. What tells them apart is the
content once aligned: B is warped onto A with the verified homography, B's colours
are fitted to A's by an affine map of RGB (colour filters, exposure; refitted on the
best-fitting 3/4 of the overlap so that a caption does not pull it), both are
blurred a little (resampling, JPEG and mild filters then agree), and the share of
the overlap where they still differ is measured. A copy differs only
where it was edited on purpose (a caption, a watermark); a burst shot differs
wherever something moved or the viewpoint shifted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

#: Pictures are compared at this longer side.
SIDE = 384
#: Gaussian blur before comparing, in pixels at ``SIDE``.
SIGMA = 1.0
#: Side of the window of the local comparison, in pixels at ``SIDE``.
WINDOW = 7
#: Local standard deviation (grey levels) under which a window counts as flat.
FLAT = 3.0
#: A textured window differs when its normalised cross-correlation is below this.
MIN_NCC = 0.6
#: A flat window differs when its mean is off by this share of A's contrast.
PIXEL_TOLERANCE = 0.5
#: More of the overlap than this differing: another shot of the scene, not a copy.
#: Tuned on edits (seed 1) of 12 Debian wallpapers against OpenCV's chessboard series,
#: stereo pairs and frames: copies 0-0.21 but one caption at 0.74, chessboard series
#: 0.44-0.55, stereo pairs 0.37 and 0.57, an exposure change 0.38; consecutive frames
#: of an almost still scene (0.009, 0.047) cannot be told from copies this way.
MAX_CHANGED = 0.25
#: The colour fit is refitted on this share of the overlap that fits it best.
#: On ``benchmarks/burst_vs_copy.py --seed 1 --photos 12`` it took a colour-filtered
#: copy from 0.21 to 0.10 changed and a captioned one from 0.74 to 0.25, and moved no
#: other shot by more than 0.01 but an exposure change (0.38 to 0.35).
COLOUR_FIT_SHARE = 0.75
#: Refits on that share (a caption over a fifth of the picture needs two).
COLOUR_FIT_ROUNDS = 3
#: Grey levels from RGB (ITU-R BT.601, as PIL's ``convert("L")``).
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Agreement:
    """How well B, warped onto A, agrees with A.

    Attributes:
        overlap: share of A covered by the warped B (0..1).
        changed: share of the overlap where they differ after alignment (0..1).
    """

    overlap: float
    changed: float

    @property
    def copy(self) -> bool:
        """Whether B agrees with A as a copy does (see :data:`MAX_CHANGED`)."""
        return self.changed <= MAX_CHANGED


def _rgb(img: Image.Image) -> tuple[np.ndarray, float]:
    """RGB float pixels (h, w, 3) at most ``SIDE`` on the longer side, and the scale used."""
    scale = min(1.0, SIDE / max(img.size))
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    small = img.convert("RGB").resize((w, h), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(small, np.float32), scale


def fit_colours(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The affine map (4, 3) of RGB that takes colours ``y`` (n, 3) closest to ``x`` (n, 3).

    Least squares, then :data:`COLOUR_FIT_ROUNDS` times again on the
    :data:`COLOUR_FIT_SHARE` of pixels the last fit fits best (trimmed least squares),
    so that a caption or a logo over part of the picture does not pull the fit.
    """
    Y = np.c_[y, np.ones(len(y), np.float32)]
    best = np.ones(len(y), bool)
    for _ in range(COLOUR_FIT_ROUNDS + 1):
        coef, *_ = np.linalg.lstsq(Y[best], x[best], rcond=None)
        residual = np.linalg.norm(x - Y @ coef, axis=1)
        best = residual <= np.quantile(residual, COLOUR_FIT_SHARE)
    return np.asarray(coef, np.float32)


def agreement(
    a: Image.Image,
    b: Image.Image,
    homography: np.ndarray,
    size_a: tuple[int, int] | None = None,
    size_b: tuple[int, int] | None = None,
) -> Agreement:
    """Compare ``b`` warped onto ``a``.

    Args:
        homography: maps pixels of A to pixels of B, as
            :class:`~selfsim.match.MatchResult` gives it.
        size_a, size_b: the (width, height) the homography's pixels refer to (the
            images' own sizes when None; pass them when the pictures were read
            smaller than the features were detected on).
    """
    ca, sa = _rgb(a)
    cb, sb = _rgb(b)
    sa *= a.width / (size_a or a.size)[0]
    sb *= b.width / (size_b or b.size)[0]
    H = np.diag([sb, sb, 1.0]) @ homography @ np.diag([1 / sa, 1 / sa, 1.0])
    h, w = ca.shape[:2]
    inverse = cv2.WARP_INVERSE_MAP
    warped_rgb = cv2.warpPerspective(cb, H, (w, h), flags=cv2.INTER_LINEAR | inverse, borderValue=0)
    valid = cv2.warpPerspective(np.ones(cb.shape[:2], np.float32), H, (w, h), flags=cv2.INTER_NEAREST | inverse) > 0.5
    valid = cv2.erode(valid.astype(np.uint8), np.ones((WINDOW, WINDOW), np.uint8)) > 0  # no resampled borders
    n = int(valid.sum())
    if n < 0.05 * valid.size:
        return Agreement(n / valid.size, 1.0)
    coef = fit_colours(ca[valid], warped_rgb[valid])
    fitted = np.c_[warped_rgb.reshape(-1, 3), np.ones(h * w, np.float32)] @ coef
    ga = ca @ LUMA
    warped = (np.clip(fitted, 0, 255) @ LUMA).reshape(h, w).astype(np.float32)
    x = cv2.GaussianBlur(ga, (0, 0), SIGMA)
    y = cv2.GaussianBlur(warped, (0, 0), SIGMA)
    # Where there is texture, local normalised cross-correlation: blind to brightness,
    # contrast and colour changes, alert to anything that moved.
    box = (WINDOW, WINDOW)
    mx, my = cv2.blur(x, box), cv2.blur(y, box)
    vx = np.maximum(cv2.blur(x * x, box) - mx * mx, 0)
    vy = np.maximum(cv2.blur(y * y, box) - my * my, 0)
    cxy = cv2.blur(x * y, box) - mx * my
    ncc = cxy / np.sqrt(vx * vy + 1e-6)
    textured = (np.sqrt(vx) > FLAT) & (np.sqrt(vy) > FLAT)
    # Where flat, the local means after a global brightness and contrast fit (the
    # colour fit clipped to 0..255 leaves some).
    A = np.c_[my[valid], np.ones(n, np.float32)]
    coef, *_ = np.linalg.lstsq(A, mx[valid], rcond=None)
    flat_diff = np.abs(my * coef[0] + coef[1] - mx) > PIXEL_TOLERANCE * max(float(x[valid].std()), 1.0)
    differs = np.where(textured, ncc < MIN_NCC, flat_diff)
    return Agreement(n / valid.size, float(differs[valid].mean()))
