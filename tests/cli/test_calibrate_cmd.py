"""``selfsim calibrate`` as users run it, and ``selfsim match`` with what it writes."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.match import Calibration, Matcher

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import FIXTURES, make_picture  # noqa: E402


def selfsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_calibrate_writes_a_calibration_that_match_uses(tmp_path: Path) -> None:
    # Two photos (textured enough that some different-picture pairs get a geometric model,
    # so the fit sees negatives) and three generated pictures: 10 copies, 20 negatives.
    pics = tmp_path / "pics"
    pics.mkdir()
    for name in ("baboon.jpg", "orange.jpg"):
        shutil.copy(FIXTURES / name, pics / name)
    for i in range(3):
        make_picture(i).save(pics / f"gen{i}.png")
    cal_file = tmp_path / "cal.json"
    out = selfsim("calibrate", str(pics), "--out", str(cal_file), "--quiet")
    assert out.returncode == 0, out.stderr

    cal = Calibration.load(cal_file)
    assert 0 < cal.threshold <= 1
    assert len(cal.weights) == 3 and all(math.isfinite(w) for w in (*cal.weights, cal.bias))
    assert 0 <= cal.precision <= 1 and 0 <= cal.recall <= 1
    assert (cal.n_positive, cal.n_negative) == (10, 20) and cal.source.endswith("5 pictures")
    assert f"threshold {cal.threshold:.3f}, precision {cal.precision:.3f}, recall {cal.recall:.3f}" in out.stderr
    assert cal.weights != Calibration.default().weights  # fitted here, not the shipped one copied

    original = FIXTURES / "baboon.jpg"
    img = Image.open(original).convert("RGB")
    w, h = img.size
    img.crop((w // 10, h // 8, w - w // 12, h - h // 10)).rotate(8, expand=True).save(tmp_path / "copy.jpg", quality=70)

    def match(a: Path, b: Path) -> dict:
        res = selfsim("match", str(a), str(b), "--calibration", str(cal_file), "--json", "--no-global")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    copy = match(tmp_path / "copy.jpg", original)
    assert copy["match"] is True and copy["score"] >= cal.threshold
    # The score is this file's probability, not the shipped calibration's.
    r = Matcher("sift").match(read_image(tmp_path / "copy.jpg"), read_image(original))
    assert r.inliers == copy["inliers"]
    assert copy["score"] == pytest.approx(cal.probability(r.inliers, r.inlier_ratio, r.coverage), abs=1e-6)
    assert abs(copy["score"] - Calibration.default().probability(r.inliers, r.inlier_ratio, r.coverage)) > 1e-3

    different = match(FIXTURES / "orange.jpg", original)
    assert different["match"] is False
