"""Damage and faults: a damaged FAISS file or catalog, an interrupted creation or
rebuild, a read-only index, a full disk. Each gives one line or recovers by itself."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from selfsim.errors import IndexDamagedError
from selfsim.index import Index, is_index, sync
from selfsim.index.check import check_index
from selfsim.index.index import model_ref
from selfsim.index.rebuild import rebuild
from selfsim.models.encoder import Encoder
from selfsim.search import Searcher


@pytest.fixture()
def built(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> Path:
    idx = tmp_path / "idx"
    with Index.create(idx, model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    return idx


def _top(idx: Path, encoder: Encoder, query: Path) -> str:
    with Index.open(idx) as index:
        return next(iter(Searcher(index, encoder).search_paths([query], k=1))).hits[0].path


@pytest.fixture()
def graph(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> Path:
    """An index searched through an HNSW graph, the only kind with a vector file."""
    idx = tmp_path / "graph"
    with Index.create(idx, model_ref(encoder), kind="hnsw") as index:
        sync(index, encoder, [photo_dir])
    return idx


def test_a_damaged_faiss_file_is_rebuilt_without_embedding(graph: Path, photo_dir: Path, encoder: Encoder) -> None:
    built = graph
    (faiss_file,) = built.glob("vectors-*.faiss")
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    assert _top(built, encoder, photo_dir / "baboon.jpg").endswith("baboon.jpg")  # a reader rebuilds in memory
    assert check_index(built).ok is False
    with Index.open(built, writable=True) as index:
        report = sync(index, encoder, [photo_dir])
    assert report.embedded == 0 and report.unchanged == 8
    assert check_index(built).ok  # and the writer saved a sound file


def test_a_faiss_file_of_other_ids_is_not_trusted(graph: Path, photo_dir: Path, encoder: Encoder) -> None:
    built = graph
    (faiss_file,) = built.glob("vectors-*.faiss")
    other = built.parent / "other"
    with Index.create(other, model_ref(encoder), kind="hnsw") as index:
        sync(index, encoder, [photo_dir / "gen0.png"])
    shutil.copy(next(other.glob("vectors-*.faiss")), faiss_file)
    assert _top(built, encoder, photo_dir / "orange.jpg").endswith("orange.jpg")


@pytest.mark.parametrize("damage", ["missing", "truncated", "other ids"])
def test_a_damaged_phash_file_is_read_from_the_catalog(damage: str, built: Path) -> None:
    (phash_file,) = built.glob("phashes-*.npy")
    with Index.open(built) as index:
        expected = index.phash_search(index.phashes.hashes[:3], 4)
    if damage == "missing":
        phash_file.unlink()
    elif damage == "truncated":
        phash_file.write_bytes(phash_file.read_bytes()[:90])
    else:
        np.save(phash_file, np.array([[1, 2], [5, 6]], dtype=np.int64))
    with Index.open(built) as index:
        got = index.phash_search(np.asarray(expected[0][0][:0].tolist() + [0], np.int64), 64)
        assert len(got[0][0]) == len(index)  # every image is within 64 bits
    report = check_index(built)
    assert not report.ok and any("phashes-" in p.what for p in report.problems)
    assert check_index(built, repair=True).ok and check_index(built).ok
    with Index.open(built) as index:
        again = index.phash_search(index.phashes.hashes[:3], 4)
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(again, expected))


@pytest.mark.parametrize("damage", ["truncated", "random", "spec", "dim", "generation", "vector"])
def test_a_damaged_catalog_is_one_line_and_check_says_what_to_do(
    damage: str, built: Path, photo_dir: Path, encoder: Encoder
) -> None:
    catalog = built / "catalog.sqlite"
    if damage == "truncated":
        catalog.write_bytes(catalog.read_bytes()[:5000])
    elif damage == "random":
        catalog.write_bytes(np.random.default_rng(0).bytes(40000))
    else:
        db = sqlite3.connect(catalog)
        sql = {
            "spec": "UPDATE meta SET value = '{not json' WHERE key = 'model_spec'",
            "dim": "UPDATE meta SET value = 'wide' WHERE key = 'dim'",
            "generation": "UPDATE meta SET value = 'x' WHERE key = 'generation'",
            "vector": "UPDATE images SET vector = substr(vector, 1, 100) WHERE id = 3",
        }[damage]
        db.execute(sql)
        db.commit()
        db.close()
        for f in built.glob("vectors-*.faiss"):
            f.unlink()  # the catalog must be read to rebuild it
    with pytest.raises(IndexDamagedError) as info:
        with Index.open(built) as index:
            Searcher(index, encoder).search_vectors(np.ones((1, encoder.dim), np.float32), 3)
    message = str(info.value)
    assert "\n" not in message and "catalog.sqlite" in message and "selfsim check" in message

    report = check_index(built)
    assert not report.ok and report.problems
    repaired = check_index(built, repair=True)
    repairable = damage in ("dim", "generation", "vector")
    assert repaired.ok is repairable
    if repairable:
        assert check_index(built).ok
        with Index.open(built, writable=True) as index:
            report = sync(index, encoder, [photo_dir])
            assert len(index) == 8 and report.embedded == (1 if damage == "vector" else 0)
    else:  # the command users run: --rebuild sets the damaged catalog aside and starts anew
        out = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(photo_dir), "--index",
                              str(built), "--rebuild", "-q"], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert "moved to" in out.stderr and "8 images" in out.stderr


def test_an_interrupted_creation_is_made_anew(tmp_path: Path, encoder: Encoder, photo_dir: Path) -> None:
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "write.lock").touch()
    (idx / ".catalog.sqlite.new").write_bytes(b"half")
    db = sqlite3.connect(idx / "catalog.sqlite")  # what older versions left: a catalog with no format
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.close()
    assert not is_index(idx)
    with Index.create(idx, model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
        assert len(index) == 8
    assert sorted(p.name for p in idx.iterdir() if not p.name.startswith(("vectors-", "phashes-"))) == [
        "catalog.sqlite", "write.lock"]


class _Stop(Exception):
    pass


def test_an_interrupted_rebuild_keeps_the_old_index(built: Path, photo_dir: Path, encoder: Encoder) -> None:
    seen = []

    def stop_half_way(n: int) -> None:
        seen.append(n)
        if len(seen) == 4:
            raise _Stop

    with Index.open(built, writable=True) as index:
        with pytest.raises(_Stop):
            rebuild(index, encoder, [photo_dir], on_progress=stop_half_way, batch_size=2)
    with Index.open(built) as index:  # the old collection, whole and searchable
        assert len(index) == 8
    assert _top(built, encoder, photo_dir / "gen3.png").endswith("gen3.png")
    assert (built / ".rebuild" / "catalog.sqlite").exists()
    with Index.open(built, writable=True) as index:
        report = rebuild(index, encoder, [photo_dir])
        assert len(index) == 8 and report.unchanged >= 2  # continued where it stopped
    assert not (built / ".rebuild").exists()
    assert check_index(built).ok


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def test_a_read_only_index_is_searched(built: Path, photo_dir: Path, encoder: Encoder, tmp_path: Path) -> None:
    mnt = tmp_path / "ro"
    if not _mount_tmpfs(mnt, "64m"):
        pytest.skip("needs root and tmpfs to make a read-only mount")
    try:
        shutil.copytree(built, mnt / "idx")
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        assert _top(mnt / "idx", encoder, photo_dir / "baboon.jpg").endswith("baboon.jpg")
        out = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "search", "--index", str(mnt / "idx"),
                              str(photo_dir / "orange.jpg"), "--verify", "3", "--json", "-k", "1"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert '"orange.jpg"' in out.stdout.replace("/", '"') and "Traceback" not in out.stderr
    finally:
        subprocess.run(["umount", "--lazy", str(mnt)])  # detached even while a file there is still open


def test_a_full_disk_is_one_line_and_a_rerun_finishes(tmp_path: Path, encoder: Encoder) -> None:
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "600k"):
        pytest.skip("needs root and tmpfs to make a small disk")
    try:
        pictures = tmp_path / "pictures"
        sys.path.insert(0, str(Path(__file__).parents[1]))
        from conftest import make_picture

        pictures.mkdir()
        for i in range(120):
            make_picture(i, (64, 48)).save(pictures / f"{i:03d}.png")
        argv = [sys.executable, "-m", "selfsim.cli.main", "index", str(pictures), "--index", str(mnt / "idx"),
                "-q", "--batch-size", "8"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert out.returncode == 1, out.stderr
        assert out.stderr.strip().splitlines()[-1].startswith("error: no space left on device")
        assert "Traceback" not in out.stderr
        with Index.open(mnt / "idx") as index:
            kept = len(index)
        assert kept > 0  # what was committed is kept
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert f"{120 - kept} added" in out.stderr and "120 images" in out.stderr
        assert check_index(mnt / "idx").ok
    finally:
        subprocess.run(["umount", "--lazy", str(mnt)])  # detached even while a file there is still open
