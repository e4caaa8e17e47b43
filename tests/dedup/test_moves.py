"""Keepers, exact groups, and moves that never lose a file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from selfsim.dedup import DuplicateGroup, apply_moves, choose_keeper, exact_groups, plan_moves
from selfsim.dedup.groups import group_of
from selfsim.errors import SelfsimError
from selfsim.index.catalog import ImageRecord


def rec(i: int, path: str, sha: str = "a", w: int = 100, h: int = 100, size: int = 1000, mtime: int = 5) -> ImageRecord:
    return ImageRecord(i, path, sha, size, mtime, w, h)


def test_the_keeper_has_the_most_pixels_then_the_largest_file_then_the_oldest() -> None:
    small, big = rec(1, "/a/small.jpg", w=100), rec(2, "/a/big.jpg", w=200)
    assert choose_keeper([small, big]) == big
    light, heavy = rec(3, "/a/light.jpg", size=10), rec(4, "/a/heavy.jpg", size=20)
    assert choose_keeper([light, heavy]) == heavy
    new, old = rec(5, "/a/new.jpg", mtime=9), rec(6, "/a/old.jpg", mtime=1)
    assert choose_keeper([new, old]) == old
    assert choose_keeper([rec(7, "/b.jpg"), rec(8, "/a.jpg")]).path == "/a.jpg"  # a stable tie-break
    with pytest.raises(ValueError):
        choose_keeper([])


def test_exact_groups_by_content() -> None:
    records = [rec(1, "/p/1.jpg", "x", w=50), rec(2, "/p/2.jpg", "x", w=80), rec(3, "/p/3.jpg", "y"),
               rec(4, "/p/4.jpg", "z"), rec(5, "/p/5.jpg", "z"), rec(6, "/p/6.jpg", "z", size=5000)]
    groups = exact_groups(records)
    assert [g.to_json_dict() for g in groups] == [
        {"kind": "exact", "keeper": "/p/6.jpg", "members": ["/p/6.jpg", "/p/4.jpg", "/p/5.jpg"], "score": 1.0},
        {"kind": "exact", "keeper": "/p/2.jpg", "members": ["/p/2.jpg", "/p/1.jpg"], "score": 1.0},
    ]
    with pytest.raises(ValueError, match="keeper first"):
        DuplicateGroup("exact", "/p/1.jpg", ("/p/2.jpg", "/p/1.jpg"), 1.0)
    with pytest.raises(ValueError, match="unknown group kind"):
        DuplicateGroup("same", "/p/1.jpg", ("/p/1.jpg",), 1.0)


def _folder(tmp_path: Path) -> tuple[Path, DuplicateGroup]:
    photos = tmp_path / "photos"
    (photos / "trip").mkdir(parents=True)
    for name, data in (("keep.jpg", b"K" * 50), ("trip/copy.jpg", b"C" * 40), ("copy.jpg", b"D" * 30)):
        (photos / name).write_bytes(data)
    members = [rec(1, str(photos / "keep.jpg"), size=50), rec(2, str(photos / "trip/copy.jpg"), size=40),
               rec(3, str(photos / "copy.jpg"), size=30)]
    return photos, group_of("near", members, 0.9)


def test_moves_keep_relative_paths_and_never_overwrite(tmp_path: Path) -> None:
    photos, group = _folder(tmp_path)
    aside = tmp_path / "aside"
    (aside / "trip").mkdir(parents=True)
    (aside / "trip" / "copy.jpg").write_bytes(b"someone else's file")
    plan = plan_moves([group], aside, [photos])
    assert [Path(m.target).relative_to(aside).as_posix() for m in plan] == ["trip/copy (1).jpg", "copy.jpg"]
    assert (photos / "trip" / "copy.jpg").exists()  # planning moves nothing
    (aside / "copy.jpg").write_bytes(b"appeared after planning")
    report = apply_moves(plan)
    assert not report.skipped
    assert (aside / "trip" / "copy.jpg").read_bytes() == b"someone else's file"
    assert (aside / "trip" / "copy (1).jpg").read_bytes() == b"C" * 40
    assert (aside / "copy.jpg").read_bytes() == b"appeared after planning"
    assert (aside / "copy (1).jpg").read_bytes() == b"D" * 30
    assert sorted(p.name for p in photos.rglob("*.jpg")) == ["keep.jpg"]
    assert apply_moves(plan).skipped == [(m.source, "gone already") for m in plan]  # a second run: nothing lost


def test_a_group_whose_keeper_vanished_is_left_alone(tmp_path: Path) -> None:
    photos, group = _folder(tmp_path)
    (photos / "keep.jpg").unlink()
    report = apply_moves(plan_moves([group], tmp_path / "aside", [photos]))
    assert not report.moved and len(report.skipped) == 2 and "keeper" in report.skipped[0][1]
    assert (photos / "trip" / "copy.jpg").exists() and (photos / "copy.jpg").exists()


def test_read_only_files_move_and_a_source_that_cannot_go_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos, group = _folder(tmp_path)
    os.chmod(photos / "copy.jpg", 0o444)
    real_unlink = os.unlink

    def refuse(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(path) == photos / "trip" / "copy.jpg":
            raise PermissionError(13, "Permission denied", str(path))
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", refuse)
    report = apply_moves(plan_moves([group], tmp_path / "aside", [photos]))
    assert [Path(m.source).name for m in report.moved] == ["copy.jpg"]
    assert (tmp_path / "aside" / "copy.jpg").read_bytes() == b"D" * 30
    assert oct((tmp_path / "aside" / "copy.jpg").stat().st_mode & 0o777) == "0o444"
    assert [(Path(s).name, "Permission denied" in why) for s, why in report.skipped] == [("copy.jpg", True)]
    assert (photos / "trip" / "copy.jpg").read_bytes() == b"C" * 40  # still there...
    assert not (tmp_path / "aside" / "trip" / "copy.jpg").exists()  # ...and only there


def test_moves_across_file_systems_copy_then_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos, group = _folder(tmp_path)
    real_link = os.link

    def no_cross_link(src: str | os.PathLike[str], dst: str | os.PathLike[str], *a: object, **k: object) -> None:
        if "photos" in str(src):
            raise OSError(18, "Invalid cross-device link")  # EXDEV, as between two disks
        real_link(src, dst)

    monkeypatch.setattr(os, "link", no_cross_link)
    report = apply_moves(plan_moves([group], tmp_path / "aside", [photos]))
    assert len(report.moved) == 2 and not report.skipped
    assert (tmp_path / "aside" / "trip" / "copy.jpg").read_bytes() == b"C" * 40
    assert not list((tmp_path / "aside").rglob(".*partial"))


def test_files_already_set_aside_stay_and_are_never_kept_instead(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    aside = photos / "dupes"  # the target inside the folder searched
    (aside / "trip").mkdir(parents=True)
    for name, data in (("keep.jpg", b"K" * 50), ("copy.jpg", b"D" * 30), ("dupes/trip/big.jpg", b"B" * 90),
                       ("dupes/copy.jpg", b"D" * 30)):
        (photos / name).write_bytes(data)
    members = [rec(1, str(photos / "dupes/trip/big.jpg"), size=90), rec(2, str(photos / "keep.jpg"), size=50),
               rec(3, str(photos / "copy.jpg"), size=30), rec(4, str(photos / "dupes/copy.jpg"), size=30)]
    group = group_of("near", members, 0.9)
    assert group.keeper == str(photos / "dupes/trip/big.jpg")  # the best member was set aside last time
    plan = plan_moves([group], aside, [photos])
    assert [(Path(m.source).name, Path(m.target).relative_to(aside).as_posix(), Path(m.keeper).name) for m in plan] \
        == [("copy.jpg", "copy (1).jpg", "keep.jpg")]
    apply_moves(plan)
    assert apply_moves(plan_moves([group], aside, [photos])).moved == []  # again: nothing more to move
    assert sorted(p.relative_to(photos).as_posix() for p in photos.rglob("*.jpg")) == [
        "dupes/copy (1).jpg", "dupes/copy.jpg", "dupes/trip/big.jpg", "keep.jpg"]


def test_a_target_holding_a_searched_folder_is_refused(tmp_path: Path) -> None:
    photos, group = _folder(tmp_path)
    for target in (photos, tmp_path):
        with pytest.raises(SelfsimError, match="it holds"):
            plan_moves([group], target, [photos])


def test_a_folder_named_through_a_link_keeps_relative_paths(tmp_path: Path) -> None:
    photos, group = _folder(tmp_path)  # members are stored by their real paths, as the index does
    (tmp_path / "link").symlink_to(photos)
    plan = plan_moves([group], tmp_path / "aside", [tmp_path / "link"])
    assert [Path(m.target).relative_to(tmp_path / "aside").as_posix() for m in plan] == ["trip/copy.jpg", "copy.jpg"]
