"""`selfsim eval` as users run it: the side-by-side table, thresholds, the report, labels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402

pytestmark = pytest.mark.slow


def selfsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True, text=True,
                          timeout=900)


def test_without_labels_every_method_side_by_side_with_thresholds_and_a_report(tmp_path: Path) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(12):
        make_picture(100 + i, (360, 270)).save(folder / f"p{i}.{['jpg', 'png', 'webp'][i % 3]}")
    (folder / "notes.txt").write_text("not a picture")
    res = selfsim("eval", str(folder), "--json", "--verify", "5", "--report", str(tmp_path / "report"),
                  "--work", str(tmp_path / "work"), "-q")
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert (out["references"], out["queries"], out["queries_with_original"]) == (8, 24, 16)
    rows = {r["method"]: r for r in out["methods"]}
    assert list(rows) == ["phash", "orb", "search", "cosine", "verified"]
    for r in rows.values():
        assert 0 <= r["micro_ap"] <= 1 and 0 <= r["recall_at_1"] <= 1
        if r["threshold_at_p90"] is not None and r["threshold_at_p99"] is not None:
            assert r["threshold_at_p99"] >= r["threshold_at_p90"]
        assert r["recall_at_p99"] <= r["recall_at_p90"]
    # The generated pictures are easy for the encoder, hard for pHash (flips, crops, pastes).
    assert rows["search"]["micro_ap"] >= 0.8 and rows["search"]["micro_ap"] > rows["phash"]["micro_ap"]
    assert rows["cosine"]["thresholds_for"] == "selfsim dedup --min-similarity"
    report = (tmp_path / "report" / "report.md").read_text()
    assert "precision-recall.png" in report and "| selfsim search [default] |" in report
    for png in ("precision-recall.png", "examples-0.png", "examples-1.png", "examples-2.png"):
        assert Image.open(tmp_path / "report" / png).size[0] > 100

    # A second run on the same work folder reuses the set and the indexes: same table.
    again = selfsim("eval", str(folder), "--json", "--methods", "search", "--work", str(tmp_path / "work"), "-q")
    assert json.loads(again.stdout)["methods"][0]["micro_ap"] == rows["search"]["micro_ap"]


def classes(root: Path) -> dict[str, list[Path]]:
    """Three classes, each variations (crops, colour, size) of one generated scene."""
    out: dict[str, list[Path]] = {}
    for c, seed in (("cats", 1), ("dogs", 2), ("owls", 3)):
        (root / c).mkdir(parents=True)
        base = make_picture(seed, (400, 300))
        variants = [base, base.crop((40, 30, 380, 280)), ImageEnhance.Color(base).enhance(0.4),
                    base.resize((200, 150)), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
        out[c] = []
        for i, v in enumerate(variants):
            f = root / c / f"{c}{i}.png"
            v.save(f)
            out[c].append(f)
    return out


def test_with_labels_from_folders_and_from_a_csv(tmp_path: Path) -> None:
    files = classes(tmp_path / "zoo")
    res = selfsim("eval", str(tmp_path / "zoo"), "--by-folder", "--json", "-q", "--report", str(tmp_path / "r"))
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert (out["pictures"], out["classes"]) == (15, 3)
    rows = {r["name"]: r for r in out["methods"]}
    assert set(rows) == {"pHash (imagehash)", "selfsim [default]"}
    assert rows["selfsim [default]"]["map"] >= 0.9 and rows["selfsim [default]"]["recall_at"]["1"] == 1.0
    assert (tmp_path / "r" / "recall-at-k.png").exists()

    csv = tmp_path / "zoo" / "labels.csv"
    csv.write_text("path,label\n" + "".join(f"{f.relative_to(csv.parent)},{c}\n" for c, fs in files.items()
                                            for f in fs[:4]))
    res = selfsim("eval", str(tmp_path / "zoo"), "--labels", str(csv), "--json", "-q", "--methods", "search")
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["pictures"] == 12 and [r["name"] for r in out["methods"]] == ["selfsim [default]"]


def test_mistakes_get_one_line(tmp_path: Path) -> None:
    res = selfsim("eval", str(tmp_path), "--labels", str(tmp_path / "missing.csv"))
    assert res.returncode == 1 and res.stderr.strip().count("\n") == 0 and "missing.csv" in res.stderr
    res = selfsim("eval", str(tmp_path), "--edits", "crop,sharpen")
    assert res.returncode == 2 and "sharpen" in res.stderr
    res = selfsim("eval", str(tmp_path))
    assert res.returncode == 1 and "at least 3 pictures, found 0" in res.stderr
