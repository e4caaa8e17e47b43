"""Turning match statistics into a calibrated probability and a data-driven verdict.

The features of a verified pair are ``log(1 + inliers)``, the inlier ratio and the
square root of the inliers' hull coverage (the smaller of the two images'). A
logistic regression over them is fitted on synthetic positive pairs (edited copies
of the user's own pictures) and negative pairs (two different pictures); the
"match" threshold is then the lowest probability at which no negative pair of the
calibration data matches, so the operating point comes from data, not a guess.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path

import numpy as np

from selfsim.errors import SelfsimError
from selfsim.json_values import is_number, show

#: Fewer inliers than this is never a match, whatever the fit says: different pictures
#: reached 5 on the calibration data, and a verdict needs a margin over that.
MIN_INLIERS = 8


def stats_vector(inliers: int, inlier_ratio: float, coverage: float) -> np.ndarray:
    return np.array([np.log1p(inliers), inlier_ratio, np.sqrt(max(coverage, 0.0))], np.float64)


@dataclass(frozen=True)
class Calibration:
    """A fitted logistic model and its operating point.

    Attributes:
        weights, bias: logistic regression over :func:`stats_vector`.
        threshold: probability at or above which a pair is a match.
        precision, recall: of that threshold on the calibration pairs.
        n_positive, n_negative: calibration pairs used.
        source: what the pairs were made from.
    """

    weights: tuple[float, float, float]
    bias: float
    threshold: float
    precision: float
    recall: float
    n_positive: int
    n_negative: int
    source: str

    def __post_init__(self) -> None:
        # A calibration decides every verdict: refuse one that cannot, whoever made it.
        w = self.weights
        if not (isinstance(w, (tuple, list)) and len(w) == 3 and all(is_number(v) for v in w)):
            raise SelfsimError(f"weights must be 3 finite numbers, got {show(w)}")
        object.__setattr__(self, "weights", tuple(w))  # a JSON list becomes the declared tuple
        if not is_number(self.bias):
            raise SelfsimError(f"bias must be a finite number, got {show(self.bias)}")
        for key in ("threshold", "precision", "recall"):
            value = getattr(self, key)
            if not (is_number(value) and 0 <= value <= 1):
                raise SelfsimError(f"{key} must be a number in [0, 1], got {show(value)}")
        for key in ("n_positive", "n_negative"):
            value = getattr(self, key)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                raise SelfsimError(f"{key} must be a whole number >= 0, got {show(value)}")
        if not isinstance(self.source, str):
            raise SelfsimError(f"source must be a string, got {show(self.source)}")

    def is_match(self, probability: float, inliers: int) -> bool:
        """The verdict: a calibrated probability over the threshold, and enough inliers."""
        return probability >= self.threshold and inliers >= MIN_INLIERS

    def probability(self, inliers: int, inlier_ratio: float, coverage: float) -> float:
        if inliers <= 0:
            return 0.0
        z = float(np.dot(self.weights, stats_vector(inliers, inlier_ratio, coverage)) + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a file written by :meth:`save`.

        Raises:
            SelfsimError: one line naming the file: unreadable, not JSON, not an
                object, missing or unknown keys, or a value out of range.
        """
        try:
            data = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
        except OSError as e:
            raise SelfsimError(f"{path}: cannot be read ({e.strerror or e})") from None
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            why = "nested too deeply" if isinstance(e, RecursionError) else str(e)
            raise SelfsimError(f"{path}: not a selfsim calibration file ({why})") from None
        if not isinstance(data, dict):
            raise SelfsimError(f"{path}: not a selfsim calibration file (expected a JSON object)")
        known = [f.name for f in fields(cls)]
        unknown, missing = sorted(set(data) - set(known)), [k for k in known if k not in data]
        if unknown or missing:
            what = "; ".join(
                f"{label} keys: {', '.join(keys)}" for label, keys in (("unknown", unknown), ("missing", missing)) if keys
            )
            raise SelfsimError(f"{path}: not a selfsim calibration file ({what}; expected: {', '.join(known)})")
        try:
            return cls(**data)
        except SelfsimError as e:
            raise SelfsimError(f"{path}: {e}") from None

    @classmethod
    def default(cls, mode: str = "homography") -> Calibration:
        """The calibration shipped with selfsim for a geometry mode: homographies fitted
        on edited copies of Debian's wallpaper photos (benchmarks/fit_calibration.py),
        fundamental matrices on real two-view pairs (benchmarks/fit_fundamental.py)."""
        name = "fundamental_calibration.json" if mode == "fundamental" else "default_calibration.json"
        return cls.load(str(resources.files("selfsim.match").joinpath(name)))


def fit_calibration(
    positives: np.ndarray, negatives: np.ndarray, source: str, margin: float = 0.05, iters: int = 50
) -> Calibration:
    """Fit a calibration from stats vectors (n, 3) of positive and negative pairs.

    Logistic regression by Newton's method with a small ridge penalty (a dozen
    lines; no need for a machine-learning dependency). The threshold is just above
    the most confident negative pair (plus ``margin``), and never below 0.5.
    """
    if len(positives) < 5 or len(negatives) < 5:
        raise SelfsimError("calibration needs at least 5 positive and 5 negative pairs")
    X = np.vstack([positives, negatives])
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    # Pairs without any geometric evidence (no plausible model) say nothing about where
    # the boundary lies; fitting on them only flattens the slope. They score 0 anyway.
    evidence = X[:, 0] > 0
    if evidence[: len(positives)].sum() < 3:
        raise SelfsimError("too few edited copies could be matched to calibrate; are the pictures flat?")
    Xb = np.c_[X, np.ones(len(X))][evidence]
    yb = y[evidence]
    w = np.zeros(Xb.shape[1])
    ridge = 1.0 * np.eye(len(w))  # keeps probabilities from saturating on separable data
    ridge[-1, -1] = 1e-6  # no penalty on the bias
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(Xb @ w, -50, 50)))
        grad = Xb.T @ (p - yb) + ridge @ w
        hess = (Xb * (p * (1 - p))[:, None]).T @ Xb + ridge
        w -= np.linalg.solve(hess, grad)
    p = 1.0 / (1.0 + np.exp(-np.clip(np.c_[X, np.ones(len(X))] @ w, -50, 50)))
    p[~evidence] = 0.0
    p_neg = p[len(positives):]
    threshold = float(min(0.999, max(0.5, p_neg.max() + margin)))
    predicted = (p >= threshold) & (X[:, 0] >= np.log1p(MIN_INLIERS))
    tp = int((predicted & (y == 1)).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / len(positives)
    return Calibration(
        weights=(float(w[0]), float(w[1]), float(w[2])),
        bias=float(w[3]),
        threshold=threshold,
        precision=float(precision),
        recall=float(recall),
        n_positive=len(positives),
        n_negative=len(negatives),
        source=source,
    )
