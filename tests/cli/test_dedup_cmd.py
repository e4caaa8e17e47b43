"""`selfsim dedup` as users run it: groups, the keeper, dry runs and moves that lose nothing."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
    assert missing.returncode == 1 and "does not exist" in missing.stderr and "group(s)" not in missing.stderr


def contents(*folders: Path) -> list[bytes]:
    """Every file's bytes under ``folders``, sorted: equal lists mean nothing was lost."""
    return sorted(p.read_bytes() for f in folders for p in f.rglob("*") if p.is_file())


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_running_twice_into_a_folder_inside_moves_nothing_more_and_overwrites_nothing(library: Path) -> None:
    aside = library / "dupes"  # where users put them: inside the folder searched
    (aside / "trip").mkdir(parents=True)
    (aside / "trip" / "beach-small.jpg").write_bytes(b"a file that was there first")
    small = (library / "trip" / "beach-small.jpg").read_bytes()
    before = contents(library)
    first = selfsim("dedup", str(library), "--move-to", str(aside), "--yes", "-q")
    assert first.returncode == 0 and "moved 3 file(s)" in first.stderr, first.stderr
    assert (aside / "trip" / "beach-small.jpg").read_bytes() == b"a file that was there first"
    assert (aside / "trip" / "beach-small (1).jpg").read_bytes() == small
    assert contents(library) == before
    after_first = listing(library)
    second = selfsim("dedup", str(library), "--move-to", str(aside), "--yes", "-q")
    assert second.returncode == 0 and "moved 0 file(s)" in second.stderr, second.stderr
    assert listing(library) == after_first and contents(library) == before
    assert [n for n in after_first if not n.startswith("dupes/")] == [
        "beach-burst.png", "beach.png", "other2.png", "other3.png", "other4.png", "other5.png"]

    same = selfsim("dedup", str(library), "--move-to", str(library), "--yes")
    assert same.returncode == 1 and "choose a folder apart from it" in same.stderr and "group(s)" not in same.stderr
    assert listing(library) == after_first


def test_a_keeper_deleted_between_runs(library: Path, tmp_path: Path) -> None:
    index, aside = tmp_path / "idx", tmp_path / "aside"
    found = selfsim("dedup", str(library), "--index", str(index), "--json", "-q")
    assert found.returncode == 0, found.stderr
    (near,) = [g for g in json.loads(found.stdout)["groups"] if g["kind"] == "near"]
    Path(near["keeper"]).unlink()
    (left,) = {str(library / "beach.png"), str(library / "trip" / "beach-again.png")} - {near["keeper"]}
    before = contents(library)

    stale = selfsim("dedup", "--index", str(index), "--move-to", str(aside), "--yes")  # the index still has it
    assert stale.returncode == 0, stale.stderr
    assert f"its keeper {near['keeper']} is gone; left in place" in stale.stderr
    assert Path(left).is_file()  # its exact copy: never moved without a keeper
    assert contents(library, aside) == before

    fresh = selfsim("dedup", str(library), "--index", str(index), "--move-to", str(aside), "--yes", "--json", "-q")
    assert fresh.returncode == 0, fresh.stderr
    (near,) = [g for g in json.loads(fresh.stdout)["groups"] if g["kind"] == "near"]
    assert near["keeper"] == left  # the full-size copy left is kept now
    assert listing(library) == sorted(["beach-burst.png", "other2.png", "other3.png", "other4.png", "other5.png",
                                       Path(left).relative_to(library).as_posix()])
    assert contents(library, aside) == before


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` with nothing to add or remove. Root ignores a folder's mode, so as root
    the immutable attribute is set instead; where neither works the test is skipped."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        undo = ["chmod", "755", str(folder)]
    else:
        try:
            made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip("running as root, which ignores a folder's mode, and chattr is not installed")
        if made.returncode != 0:
            pytest.skip(f"running as root, which ignores a folder's mode, and chattr +i fails: {made.stderr.strip()}")
        undo = ["chattr", "-i", str(folder)]
    try:
        try:
            (folder / "probe").touch()
        except OSError:
            pass
        else:
            (folder / "probe").unlink()
            pytest.skip(f"{folder} stays writable here (mode and chattr +i are ignored)")
        yield
    finally:
        subprocess.run(undo, check=True)


def test_read_only_files_move_and_a_read_only_folder_keeps_its_files(library: Path, tmp_path: Path) -> None:
    index, aside = tmp_path / "idx", tmp_path / "aside"
    before = contents(library)
    with read_only(library / "trip"):  # the copies are all in trip/: none can be taken out of it
        out = selfsim("dedup", str(library), "--index", str(index), "--move-to", str(aside), "--yes")
    assert out.returncode == 0 and "moved 0 file(s)" in out.stderr, out.stderr
    assert out.stderr.count("left in place") == 3 and "cannot move" in out.stderr
    assert contents(library) == before and contents(aside) == []  # no copy left behind either

    os.chmod(library / "trip" / "beach-small.jpg", 0o444)  # a read-only file in a folder that is not
    out = selfsim("dedup", str(library), "--index", str(index), "--move-to", str(aside), "--yes", "-q")
    assert out.returncode == 0 and "moved 3 file(s)" in out.stderr, out.stderr
    assert (aside / "trip" / "beach-small.jpg").stat().st_mode & 0o777 == 0o444
    assert contents(library, aside) == before
