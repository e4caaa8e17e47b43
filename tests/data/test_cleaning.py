from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from selfsim.data.cleaning import clean


def test_clean_drops_unreadable_small_and_duplicate_files(photo_dir: Path) -> None:
    shutil.copy(photo_dir / "gen1.png", photo_dir / "gen1_copy.png")
    Image.new("RGB", (8, 40)).save(photo_dir / "sliver.png")
    Image.new("L", (28, 28), 200).save(photo_dir / "fashion.png")  # Fashion-MNIST size is valid
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    (photo_dir / "notes.txt").write_text("x")
    report = clean([photo_dir], min_side=16)
    kept = sorted(p.name for p in report.kept)
    assert kept == sorted(["baboon.jpg", "orange.jpg", "fashion.png"] + [f"gen{i}.png" for i in range(6)])
    reasons = {Path(d.path).name: d.reason for d in report.dropped}
    assert set(reasons) == {"gen1_copy.png", "sliver.png", "broken.jpg", "notes.txt"}
    assert reasons["gen1_copy.png"].startswith("exact duplicate (of ")
    assert "too small: 8x40" in reasons["sliver.png"]


def test_clean_announces_how_many_images_it_will_check(photo_dir: Path) -> None:
    (photo_dir / "notes.txt").write_text("x")
    planned: list[int] = []
    done: list[int] = []
    clean([photo_dir], on_plan=planned.append, on_progress=done.append)
    assert planned == [8] and sum(done) == 8  # the 8 pictures; the text file is not an image


def test_a_cache_rechecks_only_what_changed(photo_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from selfsim.data import cleaning

    cache = tmp_path / "ckpt" / "clean.json"
    first = clean([photo_dir], cache=cache)
    calls: list[str] = []
    real = cleaning._check

    def counting(path, min_side, max_pixels):  # type: ignore[no-untyped-def]
        calls.append(path.name)
        return real(path, min_side, max_pixels)

    monkeypatch.setattr(cleaning, "_check", counting)
    again = clean([photo_dir], cache=cache)
    assert calls == [] and again.kept == first.kept and again.dropped == first.dropped

    (photo_dir / "gen2.png").write_bytes((photo_dir / "gen3.png").read_bytes())  # now a duplicate
    changed = clean([photo_dir], cache=cache)
    assert calls == ["gen2.png"]
    assert any(d.path.endswith("gen2.png") or d.path.endswith("gen3.png") for d in changed.dropped)

    clean([photo_dir], cache=cache, min_side=20)  # other settings: everything is checked again
    assert len(calls) == 1 + 8
    cache.write_text("{not json")
    assert clean([photo_dir], cache=cache).kept == changed.kept  # a broken cache is ignored, then rewritten
