"""`selfsim dedup` as users run it: groups, the keeper, dry runs and moves that lose nothing."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402

pytestmark = pytest.mark.slow


def scene(seed: int, ball_at: int) -> Image.Image:
    img = make_picture(seed, (640, 480))
    ImageDraw.Draw(img).ellipse((ball_at, 120, ball_at + 200, 320), fill=(250, 250, 40), outline=(0, 0, 0), width=6)
    return img


def selfsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture()
def library(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    (root / "trip").mkdir(parents=True)
    original = scene(1, 40)
    original.save(root / "beach.png")
    original.resize((320, 240)).save(root / "trip" / "beach-small.jpg", quality=80)  # a resized copy
    original.crop((30, 20, 600, 460)).save(root / "trip" / "beach-crop.webp", quality=90)  # a cropped copy
    (root / "trip" / "beach-again.png").write_bytes((root / "beach.png").read_bytes())  # an exact copy
    scene(1, 380).save(root / "beach-burst.png")  # another shot: the ball moved
    for i in range(2, 6):
        make_picture(10 + i, (640, 480)).save(root / f"other{i}.png")
    return root


def test_dedup_groups_copies_keeps_bursts_apart_and_moves_safely(library: Path, tmp_path: Path) -> None:
    out = selfsim("dedup", str(library), "--json", "--similar", "-q")
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout)["groups"]
    names = [(g["kind"], sorted(Path(m).name for m in g["members"]), Path(g["keeper"]).name) for g in groups]
    near = [n for n in names if n[0] == "near"]
    assert near == [("near", ["beach-again.png", "beach-crop.webp", "beach-small.jpg", "beach.png"], "beach-again.png")] \
        or near == [("near", ["beach-again.png", "beach-crop.webp", "beach-small.jpg", "beach.png"], "beach.png")]
    assert not any("beach-burst.png" in n[1] for n in names if n[0] != "similar")  # a burst is never a copy
    assert not any(n[0] == "exact" for n in names)  # the exact copy is part of the near group
    for g in groups:
        assert g["members"][0] == g["keeper"] and isinstance(g["score"], float)

    aside = tmp_path / "aside"
    dry = selfsim("dedup", str(library), "--move-to", str(aside), "-q")
    assert dry.returncode == 0 and "dry run: 3 file(s) would be moved" in dry.stderr
    assert not aside.exists()

    before = sorted(p.read_bytes() for p in library.rglob("*") if p.is_file())
    moved = selfsim("dedup", str(library), "--move-to", str(aside), "--yes", "-q")
    assert moved.returncode == 0, moved.stderr
    assert "moved 3 file(s)" in moved.stderr
    left = {p.relative_to(library).as_posix() for p in library.rglob("*") if p.is_file()}
    assert len([n for n in left if n.startswith("beach") or n.startswith("trip/beach")]) == 2  # keeper + burst
    assert {p.relative_to(aside).as_posix() for p in aside.rglob("*") if p.is_file()} <= {
        "beach.png", "beach-again.png", "trip/beach-small.jpg", "trip/beach-crop.webp", "trip/beach-again.png"}
    after = sorted(p.read_bytes() for p in [*library.rglob("*"), *aside.rglob("*")] if p.is_file())
    assert after == before  # every byte still somewhere

    again = selfsim("dedup", str(library), "--move-to", str(aside), "--yes", "-q", "--json")
    assert again.returncode == 0
    assert [g for g in json.loads(again.stdout.splitlines()[0])["groups"] if g["kind"] != "similar"] == []


def test_dedup_needs_something_to_look_at(tmp_path: Path) -> None:
    out = selfsim("dedup")
    assert out.returncode == 1 and "give folders" in out.stderr
    out = selfsim("dedup", str(tmp_path), "--yes")
    assert out.returncode == 1 and "--yes goes with --move-to" in out.stderr


def test_html_report_beside_json(library: Path, tmp_path: Path) -> None:
    odd = library / "<script>alert(1)<" / "script>.png"  # the path reads .../<script>alert(1)</script>.png
    odd.parent.mkdir()
    odd.write_bytes((library / "other2.png").read_bytes())
    report = tmp_path / "report.html"
    out = selfsim("dedup", str(library), "--json", "--similar", "--html", str(report), "-q")
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout)["groups"]  # stdout is still one JSON object
    assert any(g["kind"] == "exact" and str(odd) in g["members"] for g in groups)
    text = report.read_text("utf-8")
    assert len(re.findall(r'<section class="group (exact|near|similar)"', text)) == len(groups)
    assert text.count('class="member keeper"') == len(groups)
    images = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', text)
    assert len(images) == sum(len(g["members"]) for g in groups)
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) == 160
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;.png" in text

    missing = selfsim("dedup", str(library), "--html", str(tmp_path / "no-such-folder" / "r.html"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr and "embedding" not in missing.stderr
