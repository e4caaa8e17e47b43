"""The command as users run it: a real subprocess, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def selfsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("command", [[], ["index"], ["search"], ["match"], ["calibrate"]])
def test_help_has_examples(command: list[str]) -> None:
    out = selfsim(*command, "--help")
    assert out.returncode == 0
    assert "example" in out.stdout or "quick start" in out.stdout


def test_index_then_search_json(photo_dir: Path, tmp_path: Path) -> None:
    (photo_dir / "notes.txt").write_text("x")
    idx = tmp_path / "idx"
    out = selfsim("index", str(photo_dir), "--index", str(idx))
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""  # data on stdout only; messages on stderr
    assert "8 images (8 added" in out.stderr and "skipped" in out.stderr and "notes.txt" in out.stderr

    out = selfsim("search", "--index", str(idx), str(photo_dir / "gen3.png"), str(photo_dir / "baboon.jpg"), "--json", "-k", "3")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [Path(r["query"]).name for r in lines] == ["gen3.png", "baboon.jpg"]
    for r in lines:
        assert Path(r["hits"][0]["path"]).name == Path(r["query"]).name
        assert len(r["hits"]) == 3
        scores = [h["score"] for h in r["hits"]]
        assert scores == sorted(scores, reverse=True)
        top = r["hits"][0]
        assert top["similarity"] > 0.95 and top["verified"] is False  # the picture itself

    table = selfsim("search", "--index", str(idx), str(photo_dir / "orange.jpg"), "-k", "2")
    assert table.returncode == 0 and "orange.jpg" in table.stdout.splitlines()[1]


@pytest.mark.parametrize(
    "args,message",
    [
        (["index", "/no/such/folder", "--index", "{tmp}/i"], "path not found"),
        (["search", "--index", "{tmp}", "x.jpg"], "not a selfsim index"),
        (["search", "--index", "{tmp}/missing", "x.jpg"], "index not found"),
        (["index", "{tmp}", "--index", "{tmp}/i", "--model", "resnet19"], "unknown model 'resnet19'"),
        (["export", "default", "--onnx", "--out", "{tmp}/a-file/x.onnx"], "error: File exists: {tmp}/a-file"),
    ],
)
def test_errors_are_one_line_with_status_1(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "a-file").write_text("in the way of a folder")
    out = selfsim(*[a.format(tmp=tmp_path) for a in args])
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message.format(tmp=tmp_path) in out.stderr
    assert "Traceback" not in out.stderr


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = selfsim("index", str(tmp_path / "empty"), "--index", str(tmp_path / "i"))
    assert out.returncode == 1 and "no readable images" in out.stderr


def test_bad_usage_is_status_2() -> None:
    assert selfsim("search").returncode == 2


def test_match_json_and_viz(tmp_path: Path) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures"
    from PIL import Image

    img = Image.open(fixtures / "baboon.jpg").convert("RGB")
    img.rotate(15, expand=True).save(tmp_path / "rot.png")
    out = selfsim("match", str(fixtures / "baboon.jpg"), str(tmp_path / "rot.png"), "--json",
                  "--viz", str(tmp_path / "v.png"), "--global")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["match"] is True and obj["inliers"] >= 8
    assert len(obj["homography"]) == 3 and 0 < obj["global_similarity"] <= 1
    assert Image.open(tmp_path / "v.png").size[1] == 480
    other = json.loads(selfsim("match", str(fixtures / "baboon.jpg"), str(fixtures / "orange.jpg"), "--json").stdout)
    assert other["match"] is False and other["global_similarity"] is None  # opt-in: no model loaded
    assert other["passes"][0] == "plain" and other["passes"][-1] == "affine"
    quick = selfsim("match", str(fixtures / "baboon.jpg"), str(fixtures / "orange.jpg"), "--json", "--no-affine")
    assert "affine" not in json.loads(quick.stdout)["passes"]
