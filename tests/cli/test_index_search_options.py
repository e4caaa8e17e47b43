"""Options of `selfsim index` and `selfsim search` that used to be accepted and
ignored, or refused only after the model loaded."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from selfsim.index import Index
from selfsim.index.check import check_index


def selfsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("args,message", [
    (["-k", "-1"], "argument -k/--top-k: must be a whole number >= 1, got '-1'"),
    (["-k", "0"], "got '0'"),
    (["--verify", "-3"], "argument --verify: must be a whole number >= 0, got '-3'"),
    (["--verify-regions", "x"], "argument --verify-regions: must be a whole number >= 0, got 'x'"),
    (["--max-pixels", "0"], "argument --max-pixels"),
    (["--center-crop", "1"], "argument --center-crop: must be a number from 0 up to"),
    (["--corner-crops", "-0.2"], "argument --corner-crops: must be a number from 0 up to"),
])
def test_bad_numbers_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    out = selfsim("search", "--index", str(tmp_path / "missing"), "q.jpg", *args)
    assert out.returncode == 2 and message in out.stderr  # before any index or model is opened


@pytest.mark.slow
def test_type_on_an_existing_index_rebuilds_the_vector_file(photo_dir: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    assert selfsim("index", str(photo_dir), "--index", str(idx), "-q").returncode == 0
    out = selfsim("index", str(photo_dir), "--index", str(idx), "--type", "hnsw", "-q")
    assert out.returncode == 0 and "8 unchanged" in out.stderr
    with Index.open(idx) as index:
        assert index.store_kind == "hnsw" and index.store.kind == "hnsw"
    found = selfsim("search", "--index", str(idx), str(photo_dir / "gen2.png"), "--json", "-k", "1")
    assert json.loads(found.stdout)["hits"][0]["path"].endswith("gen2.png")


@pytest.mark.slow
def test_an_identical_picture_scores_the_same_with_and_without_verify(photo_dir: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    assert selfsim("index", str(photo_dir), "--index", str(idx), "-q").returncode == 0
    for query in ("baboon.jpg", "gen1.png"):
        plain = json.loads(selfsim("search", "--index", str(idx), str(photo_dir / query), "--json", "-k", "1").stdout)
        verified = json.loads(selfsim("search", "--index", str(idx), str(photo_dir / query), "--json", "-k", "1",
                                      "--verify", "5").stdout)
        assert plain["hits"][0]["similarity"] == pytest.approx(1.0, abs=1e-4)
        assert verified["hits"][0]["similarity"] == plain["hits"][0]["similarity"]
        assert verified["hits"][0]["verified"]


@pytest.mark.slow
def test_an_index_of_format_1_is_read_and_upgraded(photo_dir: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    assert selfsim("index", str(photo_dir), "--index", str(idx), "-q").returncode == 0
    db = sqlite3.connect(idx / "catalog.sqlite")  # as selfsim 0.1 wrote it: paths as text
    db.execute("UPDATE images SET path = CAST(path AS TEXT)")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    found = selfsim("search", "--index", str(idx), str(photo_dir / "orange.jpg"), "--json", "-k", "1")
    assert json.loads(found.stdout)["hits"][0]["path"].endswith("orange.jpg")
    again = selfsim("index", str(photo_dir), "--index", str(idx), "-q")
    assert again.returncode == 0 and "8 unchanged" in again.stderr
    db = sqlite3.connect(idx / "catalog.sqlite")
    assert db.execute("SELECT DISTINCT typeof(path) FROM images").fetchall() == [("blob",)]
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    db.close()
    assert check_index(idx).ok


@pytest.mark.slow
def test_an_index_of_format_2_with_float32_vectors_is_read_and_extended(photo_dir: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    idx = tmp_path / "idx"
    assert selfsim("index", str(photo_dir), "--index", str(idx), "-q").returncode == 0
    db = sqlite3.connect(idx / "catalog.sqlite")  # as selfsim wrote it before format 3: float32 vectors
    rows = db.execute("SELECT id, vector FROM images").fetchall()
    db.executemany("UPDATE images SET vector = ? WHERE id = ?",
                   [(np.frombuffer(v, np.float16).astype(np.float32).tobytes(), i) for i, v in rows])
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    assert check_index(idx).ok
    found = selfsim("search", "--index", str(idx), str(photo_dir / "orange.jpg"), "--json", "-k", "1")
    assert json.loads(found.stdout)["hits"][0]["path"].endswith("orange.jpg")
    Image.new("RGB", (96, 64), (200, 30, 30)).save(photo_dir / "red.png")
    again = selfsim("index", str(photo_dir), "--index", str(idx), "-q")
    assert again.returncode == 0 and "1 added" in again.stderr
    db = sqlite3.connect(idx / "catalog.sqlite")
    lengths = sorted(n for (n,) in db.execute("SELECT length(vector) FROM images"))
    assert lengths == [2 * 1280] + [4 * 1280] * 8  # new rows in float16, old ones kept
    db.close()
    assert check_index(idx).ok
    for name in ("orange.jpg", "red.png"):
        found = selfsim("search", "--index", str(idx), str(photo_dir / name), "--json", "-k", "1")
        hit = json.loads(found.stdout)["hits"][0]
        assert hit["path"].endswith(name) and hit["similarity"] == pytest.approx(1.0, abs=1e-3)


def test_local_features_stop_at_the_feature_cache(photo_dir: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    env = {**os.environ, "SELFSIM_FEATURE_CACHE_MB": str(3 * 280_000 / 2**20)}  # room for 3 pictures
    out = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(photo_dir), "--index", str(idx),
                          "--local-features", "-q"], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert "local features of 8 pictures would not fit the feature cache" in out.stderr
    assert "detecting them for the first 3" in out.stderr
    with Index.open(idx) as index:
        n = index.catalog.execute("SELECT COUNT(*) FROM local_features").fetchone()[0]
    assert 1 <= n <= 3
