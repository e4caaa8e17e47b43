"""The copy set `selfsim eval` and the copy-detection benchmark are made from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from selfsim.errors import SelfsimError
from selfsim.eval.copyset import build_copy_set

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402


@pytest.fixture()
def pictures(tmp_path: Path) -> list[Path]:
    files = []
    for i in range(9):
        f = tmp_path / "src" / f"p{i}.{'png' if i % 2 else 'jpg'}"
        f.parent.mkdir(exist_ok=True)
        make_picture(i, (200 + 10 * i, 150)).save(f)
        files.append(f)
    bad = tmp_path / "src" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not a picture")
    return [*files, bad]


def test_held_out_copies_have_no_right_answer_and_every_copy_names_its_original(
    pictures: list[Path], tmp_path: Path
) -> None:
    cs = build_copy_set(pictures, tmp_path / "set", seed=3, holdout=1 / 3, copies=2)
    assert [p for p, _ in cs.skipped] == [str(pictures[-1])]
    assert len(cs.refs) == 6 and len(cs.queries) == 18
    assert sum(v is None for v in cs.truth.values()) == 6  # 3 held out x 2 copies
    ref_names = {r.name for r in cs.refs}
    assert {v for v in cs.truth.values() if v is not None} == ref_names
    assert all(q.exists() for q in cs.queries) and all(r.exists() for r in cs.refs)
    held = set(cs.sources) - ref_names
    assert len(held) == 3 and str(pictures[-1]) not in cs.sources.values()


def test_the_same_settings_give_the_same_set_and_reuse_it(pictures: list[Path], tmp_path: Path) -> None:
    a = build_copy_set(pictures, tmp_path / "a", seed=1, edits=("crop", "text"))
    b = build_copy_set(pictures, tmp_path / "b", seed=1, edits=("crop", "text"))
    assert a.truth == b.truth and a.edits == b.edits
    assert all((a.root / "queries" / q).read_bytes() == (b.root / "queries" / q).read_bytes() for q in a.truth)
    assert set(a.edits.values()) == {"crop", "text"}
    stamp = (a.root / "copyset.json").stat().st_mtime_ns
    assert build_copy_set(pictures, tmp_path / "a", seed=1, edits=("crop", "text")).truth == a.truth
    assert (a.root / "copyset.json").stat().st_mtime_ns == stamp  # reused, not rewritten
    other = build_copy_set(pictures, tmp_path / "a", seed=2, edits=("crop", "text"))  # other settings: remade
    assert json.loads((a.root / "copyset.json").read_text())["settings"]["seed"] == 2
    assert len(list((a.root / "queries").iterdir())) == len(other.queries)


def test_bad_settings_are_refused_in_one_line(pictures: list[Path], tmp_path: Path) -> None:
    with pytest.raises(SelfsimError, match="unknown edit.*sharpen.*choose from"):
        build_copy_set(pictures, tmp_path / "x", edits=("crop", "sharpen"))
    with pytest.raises(SelfsimError, match="--holdout"):
        build_copy_set(pictures, tmp_path / "x", holdout=1.0)
    with pytest.raises(SelfsimError, match="at least 3 readable pictures, found 1"):
        build_copy_set(pictures[:1] + pictures[-1:], tmp_path / "x")
