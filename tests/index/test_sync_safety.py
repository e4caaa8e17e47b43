"""Deletions never outrun the evidence; names that are not UTF-8 round-trip; moved
pictures keep their vectors; content replaced under the same size and time is found."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.errors import SelfsimError
from selfsim.index import Index, sync
from selfsim.index.index import model_ref
from selfsim.models.encoder import Encoder


def _index(folder: Path, idx: Path, encoder: Encoder, **kw):  # noqa: ANN201
    index = Index.open(idx, writable=True) if (idx / "catalog.sqlite").exists() else Index.create(idx, model_ref(encoder))
    with index:
        return sync(index, encoder, [folder], **kw), {r.path for r in index.records()}


def test_a_name_that_is_not_utf8_round_trips(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    raw = os.path.join(os.fsencode(photo_dir), b"caf\xe9.jpg")
    shutil.copy(photo_dir / "orange.jpg", raw)
    (photo_dir / "orange.jpg").unlink()
    report, paths = _index(photo_dir, tmp_path / "idx", encoder)
    assert report.added == 8 and not report.skipped
    assert os.fsdecode(raw) in paths
    assert os.fsencode(os.fsdecode(raw)) == raw  # the exact bytes come back
    with Index.open(tmp_path / "idx") as index:
        rec = next(r for r in index.records() if r.path == os.fsdecode(raw))
        assert index.paths([rec.id]) == {rec.id: os.fsdecode(raw)}
    report, _ = _index(photo_dir, tmp_path / "idx", encoder)  # and it is found unchanged again
    assert report.unchanged == 8


def test_an_empty_or_missing_folder_keeps_the_index(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    idx = tmp_path / "idx"
    _index(photo_dir, idx, encoder)
    moved_away = tmp_path / "elsewhere"
    photo_dir.rename(moved_away)
    photo_dir.mkdir()  # the mount point of an unmounted disk: empty
    with pytest.raises(SelfsimError, match="holds no pictures now.*8.*--prune"):
        _index(photo_dir, idx, encoder)
    photo_dir.rmdir()
    with pytest.raises(SelfsimError, match="path not found.*8 indexed pictures.*--prune"):
        _index(photo_dir, idx, encoder)
    with Index.open(idx) as index:
        assert len(index) == 8
    report, paths = _index(photo_dir, idx, encoder, prune=True)  # gone for good: --prune
    assert report.removed == 8 and not paths


def test_most_of_a_folder_vanishing_is_kept_unless_pruned(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    idx = tmp_path / "idx"
    _index(photo_dir, idx, encoder)
    for name in ("gen0.png", "gen1.png", "gen2.png", "gen3.png", "gen4.png"):
        (photo_dir / name).unlink()  # 5 of 8 gone
    report, paths = _index(photo_dir, idx, encoder)
    assert report.removed == 0 and len(paths) == 8
    assert [(k.gone, k.indexed) for k in report.kept] == [(5, 8)]
    report, paths = _index(photo_dir, idx, encoder, prune=True)
    assert report.removed == 5 and len(paths) == 3

    (photo_dir / "gen5.png").unlink()  # 1 of 3: a clean-up, not a missing disk
    report, paths = _index(photo_dir, idx, encoder)
    assert report.removed == 1 and len(paths) == 2 and not report.kept


def test_a_renamed_folder_keeps_its_vectors_and_leaves_no_twin(tmp_path: Path, encoder: Encoder, photo_dir: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    photo_dir.rename(root / "before")
    idx = tmp_path / "idx"
    _index(root, idx, encoder)
    (root / "before").rename(root / "after")
    report, paths = _index(root, idx, encoder)
    assert report.embedded == 0 and report.moved == 8 and report.removed == 0
    assert len(paths) == 8 and all("/after/" in p for p in paths)


def test_verify_content_finds_content_replaced_under_the_same_size_and_time(
    photo_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    idx = tmp_path / "idx"
    _index(photo_dir, idx, encoder)
    target = photo_dir / "gen0.png"
    st = target.stat()
    pixels = np.asarray(Image.open(target).convert("RGB")).copy()
    pixels[:, :, 0] = 255 - pixels[:, :, 0]  # other content, same PNG size
    data = target.read_bytes()
    Image.fromarray(pixels).save(target)
    new = target.read_bytes()
    target.write_bytes(new[: len(data)].ljust(len(data), b"\0") if len(new) >= len(data) else new + b"\0" * (len(data) - len(new)))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert target.stat().st_size == st.st_size
    report, _ = _index(photo_dir, idx, encoder)
    assert report.unchanged == 8  # size and mtime agree: not looked at
    report, _ = _index(photo_dir, idx, encoder, verify_content=True)
    assert report.unchanged == 7 and report.updated + len(report.skipped) == 1


def test_index_folder_inside_the_pictures_and_linked_folders(photo_dir: Path, encoder: Encoder) -> None:
    (photo_dir / "sub").mkdir()
    os.symlink(photo_dir / "sub", photo_dir / "link")
    idx = photo_dir / "pics.idx"
    report, _ = _index(photo_dir, idx, encoder)
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("link", "symbolic link to a folder (not followed)")
    ]
    report, _ = _index(photo_dir, idx, encoder)
    assert report.unchanged == 8 and len(report.skipped) == 1
