"""Aligning a crop with its picture when local features cannot: a scale search.

Smooth pictures (gradients, skies, soft abstract wallpapers) give too few keypoints
for a homography, so a crop or resized copy of one goes unconfirmed. A crop is the
other picture scaled and shifted, nothing more, so it can be found the direct way:
the smaller picture slid over the larger one at a range of scales, scored by
normalised cross-correlation (``cv2.matchTemplate``): every scale and place at low
resolution, then twice refined around the best at twice the resolution. Both
directions are tried (either picture may be the crop). Rotation and perspective
are not searched: copies that underwent them have texture, and local features
handle those. OpenCV has no multi-scale template search, hence this one.

The result only aligns the pair; whether the two then agree as copies do is for
:func:`selfsim.dedup.agreement.agreement` to say.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

#: The search, coarse to fine: (longer side of the larger picture in pixels, factor
#: between the scales tried, scales tried either side of the last stage's best, pixels
#: searched either side of its placement). The first stage tries every scale and
#: place; each next one halves the pixel size and refines around the best, ending
#: at 0.3 % of scale (a stripe pattern at 3 % off is out of phase across the picture).
STAGES = ((128, 1.03, 0, 0), (256, 1.01, 6, 6), (512, 1.003, 5, 4))
#: The crop must keep at least this share of the larger picture's area.
MIN_AREA = 0.15
#: A template is never slid at fewer pixels than this on its shorter side.
MIN_TEMPLATE = 16
#: A picture with less contrast than this (standard deviation of grey levels) is
#: flat: it correlates with nothing, and any flat picture would pass as its copy.
MIN_CONTRAST = 2.0
#: Blur before correlating, in pixels at the search resolution: resampling and JPEG
#: blocks then agree.
SIGMA = 1.0


@dataclass(frozen=True)
class CropFit:
    """Where one picture sits inside the other.

    Attributes:
        homography: 3x3, maps pixels of A to pixels of B (as
            :class:`~selfsim.match.MatchResult` gives it), at the sizes given to
            :func:`find_crop`.
        ncc: normalised cross-correlation of the aligned pictures (-1..1).
        area: share of the larger picture's area that the smaller one covers (0..1).
        a_inside_b: True when A is the crop, False when B is.
    """

    homography: np.ndarray
    ncc: float
    area: float
    a_inside_b: bool


def _grey(img: Image.Image, side: int, sigma: float = SIGMA) -> np.ndarray:
    """Grey float pixels with the longer side ``side`` (never enlarged), blurred."""
    scale = min(1.0, side / max(img.size))
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    small = np.asarray(img.convert("L").resize((w, h), Image.Resampling.BOX), np.float32)
    return cv2.GaussianBlur(small, (0, 0), sigma) if sigma > 0 else small


def _best_placement(
    big: np.ndarray, small: np.ndarray, scales: np.ndarray, near: tuple[float, float] | None = None, margin: int = 0
) -> tuple[float, float, float, float] | None:
    """Best ``(ncc, scale, x, y)`` of ``small`` resized by each scale inside ``big``.

    With ``near`` (x, y), only placements within ``margin`` pixels of it are tried.
    """
    best: tuple[float, float, float, float] | None = None
    h, w = big.shape
    for k in scales:
        tw, th = round(small.shape[1] * k), round(small.shape[0] * k)
        if min(tw, th) < MIN_TEMPLATE or tw > w or th > h:
            continue
        x0 = y0 = 0
        region = big
        if near is not None:
            x0 = min(max(round(near[0]) - margin, 0), w - tw)
            y0 = min(max(round(near[1]) - margin, 0), h - th)
            region = big[y0 : min(h, y0 + th + 2 * margin), x0 : min(w, x0 + tw + 2 * margin)]
        t = cv2.resize(small, (tw, th), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        if float(t.std()) < 1e-3:
            continue  # a flat template correlates with nothing
        r = cv2.matchTemplate(region, t, cv2.TM_CCOEFF_NORMED)
        _, score, _, (x, y) = cv2.minMaxLoc(r)
        if best is None or score > best[0]:
            best = (float(score), float(k), float(x + x0), float(y + y0))
    return best


def _search(big: Image.Image, small: Image.Image) -> tuple[float, np.ndarray, float] | None:
    """``(ncc, inside, area)``: ``inside`` (3x3) maps ``small``'s pixels to ``big``'s."""
    bw, bh = big.size
    sw, sh = small.size
    k_max = min(bw / sw, bh / sh)
    k_min = np.sqrt(MIN_AREA * bw * bh / (sw * sh))
    if k_min > k_max:
        return None  # too different in shape for one to be a large enough crop of the other
    if min(float(_grey(big, STAGES[0][0]).std()), float(_grey(small, STAGES[0][0]).std())) < MIN_CONTRAST:
        return None
    n = int(np.ceil(np.log(k_max / k_min) / np.log(STAGES[0][1]))) + 1
    ks = np.geomspace(k_min, k_max, max(n, 2))  # ``small`` original -> ``big`` original
    found: tuple[float, float, float, float] | None = None
    for side, step, steps, margin in STAGES:
        big_s = _grey(big, side)
        r = big_s.shape[1] / bw  # stage pixels per original pixel of ``big``
        # ``small`` at the resolution where its largest scale fits ``big_s`` (never enlarged).
        small_s = _grey(small, round(max(sw, sh) * r * float(ks.max())))
        t = small_s.shape[1] / sw
        near = None if found is None else (found[2] * r, found[3] * r)
        placed = _best_placement(big_s, small_s, ks * r / t, near, margin)
        if placed is None:
            return None
        ncc, k = placed[0], placed[1] * t / r
        found = (ncc, k, placed[2] / r, placed[3] / r)
        ks = np.clip(k * step ** np.arange(-steps, steps + 1), None, k_max)
    assert found is not None
    ncc, k, x, y = found
    inside = np.array([[k, 0, x], [0, k, y], [0, 0, 1.0]])
    return ncc, inside, k * k * sw * sh / (bw * bh)


def find_crop(a: Image.Image, b: Image.Image) -> CropFit | None:
    """The best placement of either picture, scaled, inside the other.

    None when neither fits (too different in shape, or flat).

    Args:
        a, b: the two pictures, at any size (their own pixel sizes define the
            homography's units).
    """
    fits = []
    for a_inside_b, (big, small) in ((True, (b, a)), (False, (a, b))):
        found = _search(big, small)
        if found is None:
            continue
        ncc, inside, area = found
        H = inside if a_inside_b else np.linalg.inv(inside)
        fits.append(CropFit(H, ncc, min(area, 1.0), a_inside_b))
    return max(fits, key=lambda f: f.ncc, default=None)
