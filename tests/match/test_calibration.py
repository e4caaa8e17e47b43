"""Calibration files are checked when loaded: every bad one is one line naming it."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from selfsim.errors import SelfsimError
from selfsim.match import Calibration

GOOD = asdict(Calibration.default())


def _with(**changes: object) -> str:
    return json.dumps({**GOOD, **changes})


# (file contents, words the message must hold)
BAD_FILES = [
    ('{"weights": [1, 2, 3],', "not a selfsim calibration file (Expecting"),
    (b"\xff\xfe{\x00", "not a selfsim calibration file ('utf-8' codec can't decode"),
    ("[" * 200_000, "not a selfsim calibration file (nested too deeply)"),
    ("[1, 2, 3]", "not a selfsim calibration file (expected a JSON object)"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "threshold"}), "(missing keys: threshold; expected: weights, bias"),
    (_with(colour="red"), "(unknown keys: colour; expected: weights, bias"),
    (_with(threshold="0.5"), 'threshold must be a number in [0, 1], got "0.5"'),
    (_with(threshold=1.5), "threshold must be a number in [0, 1], got 1.5"),
    (_with(threshold=-0.1), "threshold must be a number in [0, 1], got -0.1"),
    (_with(threshold=None), "threshold must be a number in [0, 1], got null"),
    (_with(threshold=True), "threshold must be a number in [0, 1], got true"),
    (_with(recall=2), "recall must be a number in [0, 1], got 2"),
    (_with(bias=float("nan")), "bias must be a finite number, got NaN"),
    (_with(bias=float("inf")), "bias must be a finite number, got Infinity"),
    (_with(bias="0"), 'bias must be a finite number, got "0"'),
    (_with(weights=[1.0, float("nan"), 1.0]), "weights must be 3 finite numbers, got [1.0, NaN, 1.0]"),
    (_with(weights=[1.0, 2.0]), "weights must be 3 finite numbers, got [1.0, 2.0]"),
    (_with(weights=[1.0, 2.0, 3.0, 4.0]), "weights must be 3 finite numbers"),
    (_with(weights=["a", 2.0, 3.0]), "weights must be 3 finite numbers"),
    (_with(weights=7), "weights must be 3 finite numbers, got 7"),
    (_with(n_positive=1.5), "n_positive must be a whole number >= 0, got 1.5"),
    (_with(n_negative=-1), "n_negative must be a whole number >= 0, got -1"),
    (_with(source=None), "source must be a string, got null"),
]


@pytest.mark.parametrize("content,message", BAD_FILES, ids=[m[:40] for _, m in BAD_FILES])
def test_a_bad_calibration_file_is_one_line_naming_it(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / "cal.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SelfsimError) as e:
        Calibration.load(path)
    text = str(e.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "\n" not in text and len(text) < 300


def test_a_missing_calibration_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SelfsimError, match="missing.json: cannot be read"):
        Calibration.load(tmp_path / "missing.json")


def test_calibrations_made_in_code_are_checked_too() -> None:
    cal = Calibration.default()
    with pytest.raises(SelfsimError, match="threshold must be"):
        replace(cal, threshold=float("nan"))
    with pytest.raises(SelfsimError, match="weights must be"):
        replace(cal, weights=(1.0, 2.0, float("-inf")))


def test_a_good_file_loads_with_its_weights_as_a_tuple(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    path.write_text(_with(threshold=1, weights=[1, 2, 3]))
    cal = Calibration.load(path)
    assert cal.weights == (1, 2, 3) and isinstance(cal.weights, tuple) and cal.threshold == 1
    z = math.log1p(100) * 1 + 1.0 * 2 + math.sqrt(0.25) * 3 + cal.bias
    assert cal.probability(100, 1.0, 0.25) == pytest.approx(1 / (1 + math.exp(-z)))
