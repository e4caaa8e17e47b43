"""Stage 5: deciding whether two images show the same thing, with local features."""

from selfsim.match.calibration import Calibration, fit_calibration
from selfsim.match.features import METHODS, FeatureExtractor, LocalFeatures
from selfsim.match.matcher import Matcher, MatchResult

__all__ = ["METHODS", "Calibration", "FeatureExtractor", "LocalFeatures", "MatchResult", "Matcher", "fit_calibration"]
