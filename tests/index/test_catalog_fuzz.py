"""Fuzzing the catalog loader: whatever bytes a catalog file holds, opening and
reading the index either works or raises a one-line SelfsimError (never another
exception, never a hang), and `check_index` always answers."""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfsim.errors import SelfsimError
from selfsim.index import Index, ModelRef
from selfsim.index.catalog import NewImage
from selfsim.index.check import check_index

DIM = 8
#: A longer run: SELFSIM_FUZZ_EXAMPLES=5000 pytest tests/index/test_catalog_fuzz.py
EXAMPLES = int(os.environ.get("SELFSIM_FUZZ_EXAMPLES", "60"))


@functools.cache
def pristine() -> bytes:
    """A small catalog with 12 rows, as one file (its WAL folded in)."""
    folder = Path(tempfile.mkdtemp()) / "idx"
    rng = np.random.default_rng(0)
    with Index.create(folder, ModelRef("fp", "test", {"model": "default"}, DIM)) as index:
        rows = []
        for i in range(12):
            v = rng.normal(size=DIM).astype(np.float32)
            rows.append(NewImage(f"/pictures/{i}.jpg", f"{i:064x}", 100 + i, 1000 + i, 64, 48,
                                 v / np.linalg.norm(v), int(rng.integers(0, 2**62))))
        index.add(rows)
        index.catalog.put_features(f"{0:064x}", "sift", b"x" * 300)
    data = (folder / "catalog.sqlite").read_bytes()
    shutil.rmtree(folder.parent)
    return data


def _exercise(folder: Path) -> None:
    try:
        with Index.open(folder) as index:
            n = len(index)
            records = index.records()
            assert len(records) == n
            D, I = index.search(np.ones((1, DIM), np.float32), 3)
            assert D.shape == (1, 3)
            index.paths([r.id for r in records])
            index.phash_search(np.zeros(1, np.int64), 8)
    except SelfsimError as e:
        assert "\n" not in str(e)
    try:
        report = check_index(folder)
        assert isinstance(report.ok, bool)
    except SelfsimError as e:  # not an index at all (an empty file: `selfsim index` makes it anew)
        assert "\n" not in str(e)


mutations = st.lists(
    st.tuples(st.integers(0, 2**31), st.integers(0, 255), st.sampled_from(["set", "cut", "zero-page"])),
    min_size=1, max_size=6,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations)
def test_a_mutated_catalog_never_raises_anything_else(tmp_path: Path, edits) -> None:  # noqa: ANN001
    data = bytearray(pristine())
    for where, value, how in edits:
        if not data:
            break
        at = where % len(data)
        if how == "set":
            data[at] = value
        elif how == "cut":
            del data[at:]
        else:
            page = at - at % 4096
            data[page : page + 4096] = bytes(len(data[page : page + 4096]))
    folder = tmp_path / f"idx-{abs(hash(bytes(data))) % 10**9}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "catalog.sqlite").write_bytes(bytes(data))
    _exercise(folder)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["schema_version", "model_fingerprint", "model_spec", "dim", "generation", "store_kind"]),
       st.one_of(st.text(max_size=20), st.integers().map(str), st.just("[" * 5000), st.just('{"model": 3}')))
def test_any_meta_value_gives_one_line(tmp_path: Path, key: str, value: str) -> None:
    folder = tmp_path / f"meta-{key}-{abs(hash(value)) % 10**9}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "catalog.sqlite").write_bytes(pristine())
    db = sqlite3.connect(folder / "catalog.sqlite")
    db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    db.commit()
    db.close()
    _exercise(folder)
