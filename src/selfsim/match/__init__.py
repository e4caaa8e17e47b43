"""Stage 5: deciding whether two images show the same thing, with local features."""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

_EXPORTS = {
    "Calibration": "selfsim.match.calibration",
    "fit_calibration": "selfsim.match.calibration",
    "METHODS": "selfsim.match.features",
    "FeatureExtractor": "selfsim.match.features",
    "LocalFeatures": "selfsim.match.features",
    "Matcher": "selfsim.match.matcher",
    "MatchResult": "selfsim.match.matcher",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.match.calibration import Calibration, fit_calibration
    from selfsim.match.features import METHODS, FeatureExtractor, LocalFeatures
    from selfsim.match.matcher import Matcher, MatchResult

__all__ = ["Calibration", "FeatureExtractor", "fit_calibration", "LocalFeatures", "Matcher", "MatchResult", "METHODS"]
