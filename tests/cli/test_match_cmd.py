"""``selfsim match``: bad options are refused before any work, and --json is always JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from selfsim.cli.common import non_negative_int, positive_int
from selfsim.cli.main import main
from selfsim.match.matcher import Matcher, MatchResult

FIXTURES = Path(__file__).parents[1] / "fixtures"
A, B = str(FIXTURES / "baboon.jpg"), str(FIXTURES / "orange.jpg")


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "ten", ""])
def test_max_side_must_be_a_positive_whole_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["match", A, B, "--max-side", value])
    assert e.value.code == 2
    assert f"argument --max-side: must be a whole number >= 1, got '{value}'" in capsys.readouterr().err


def test_whole_number_types() -> None:
    import argparse

    assert positive_int("7") == 7 and non_negative_int("0") == 0 and non_negative_int(" 12 ") == 12
    for parse, bad in ((positive_int, "0"), (positive_int, "x"), (non_negative_int, "-1"), (non_negative_int, "2.0")):
        with pytest.raises(argparse.ArgumentTypeError, match=rf"must be a whole number >= \d, got '{bad}'"):
            parse(bad)


@pytest.mark.parametrize(
    "viz,message",
    [
        ("{tmp}/out.txt", "--viz {tmp}/out.txt: cannot draw into a '.txt' file; use one of: .png, .jpg, .jpeg"),
        ("{tmp}/out", "--viz {tmp}/out: cannot draw into a file without an extension; use one of: .png"),
        ("{tmp}/no/such/folder/out.png", "--viz {tmp}/no/such/folder/out.png: folder not found: {tmp}/no/such/folder"),
        ("{tmp}/a-folder.png", "--viz {tmp}/a-folder.png: is a folder"),
    ],
)
def test_a_bad_viz_path_is_refused_before_the_images_are_read(
    tmp_path: Path, viz: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-folder.png").mkdir()
    missing = str(tmp_path / "missing.jpg")  # never read: the --viz check comes first
    assert main(["match", missing, missing, "--viz", viz.format(tmp=tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message.format(tmp=tmp_path)}")
    assert err.count("\n") == 1 and "missing.jpg" not in err


def test_a_bad_calibration_is_refused_before_the_images_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cal = tmp_path / "cal.json"
    cal.write_text('{"threshold": "high"}')
    missing = str(tmp_path / "missing.jpg")
    assert main(["match", missing, missing, "--calibration", str(cal)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {cal}: not a selfsim calibration file (missing keys: weights, bias")
    assert err.count("\n") == 1


def test_json_output_never_holds_nan(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    nan = float("nan")
    empty = np.zeros((0, 2), np.float32)
    result = MatchResult(False, nan, 0, 3, nan, np.full((3, 3), np.inf), (0.0, nan, 1.0, 1.0), None, nan, nan,
                         "degenerate", empty, empty)
    monkeypatch.setattr(Matcher, "match", lambda self, a, b, similarity=None: result)
    assert main(["match", A, B, "--json", "--no-global"]) == 0
    out = capsys.readouterr().out

    def refuse(token: str) -> None:
        raise AssertionError(f"not JSON: {token}")

    obj = json.loads(out, parse_constant=refuse)
    assert obj["score"] is None and obj["inlier_ratio"] is None and obj["global_similarity"] is None
    assert obj["homography"] == [[None] * 3] * 3 and obj["box_a"] == [0.0, None, 1.0, 1.0]
