from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.errors import IndexStateError
from selfsim.index import Index, ModelRef, sync
from selfsim.models.encoder import Encoder
from selfsim.search import model_ref


def _build(folder: Path, index_dir: Path, encoder: Encoder):
    if (index_dir / "catalog.sqlite").exists():
        index = Index.open(index_dir, writable=True)
    else:
        index = Index.create(index_dir, model_ref(encoder))
    with index:
        return sync(index, encoder, [folder]), len(index)


def test_sync_embeds_only_new_and_changed_and_drops_deleted(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    idx = tmp_path / "idx"
    report, n = _build(photo_dir, idx, encoder)
    assert (report.added, report.embedded, n) == (8, 8, 8)

    report, n = _build(photo_dir, idx, encoder)
    assert (report.unchanged, report.embedded, n) == (8, 0, 8)

    Image.new("RGB", (64, 64), (200, 30, 30)).save(photo_dir / "gen0.png")  # changed content
    (photo_dir / "gen1.png").unlink()  # deleted
    shutil.copy(photo_dir / "gen2.png", photo_dir / "copy_of_gen2.png")  # new, same bytes
    os.utime(photo_dir / "gen3.png", ns=(1, 1))  # touched, same bytes
    report, n = _build(photo_dir, idx, encoder)
    assert report.removed == 1 and n == 8
    assert report.embedded == 1  # only gen0; the copy and the touched file reuse vectors
    assert report.reused == 2


def test_bad_files_are_reported_and_good_ones_indexed(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    (photo_dir / "notes.txt").write_text("not an image")
    (photo_dir / "fake.jpg").write_bytes(b"\xff\xd8\xff\xe0 garbage")
    good = (photo_dir / "baboon.jpg").read_bytes()
    (photo_dir / "truncated.jpg").write_bytes(good[: len(good) // 3])
    big = Image.new("RGB", (4000, 3000))
    big.save(photo_dir / "huge.png")
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        report = sync(index, encoder, [photo_dir], max_pixels=10_000_000)
        assert len(index) == 8
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"notes.txt", "fake.jpg", "truncated.jpg", "huge.png"}
    assert "too large" in reasons["huge.png"] and "truncated" in reasons["truncated.jpg"]


def test_index_refuses_another_model(tmp_path: Path, encoder: Encoder) -> None:
    with Index.create(tmp_path / "idx", model_ref(encoder)):
        pass
    other = ModelRef("0123456789abcdef", "mine", {"model": "mine", "weights": None}, 1280)
    with Index.open(tmp_path / "idx") as index, pytest.raises(IndexStateError, match="--rebuild"):
        index.check_model(other)


def test_an_index_of_an_earlier_default_encoder_says_so(tmp_path: Path, encoder: Encoder) -> None:
    old = ModelRef("0123456789abcdef", "default", {"model": "default", "weights": None}, 1280)
    with Index.create(tmp_path / "idx", old):
        pass
    with Index.open(tmp_path / "idx") as index, pytest.raises(
            IndexStateError, match=r"an earlier default encoder: selfsim's default changed.*--rebuild"):
        index.check_model(model_ref(encoder))


def test_stale_vector_file_is_rebuilt_from_catalog(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    idx = tmp_path / "idx"
    _build(photo_dir, idx, encoder)
    # Simulate a run killed after committing rows but before writing the FAISS file.
    for f in idx.glob("vectors-*.faiss"):
        f.unlink()
    with Index.open(idx) as index:
        x = encoder.embed([Image.open(photo_dir / "orange.jpg").convert("RGB")])
        D, I = index.search(x, 1)
        assert index.paths(I[0])[int(I[0, 0])].endswith("orange.jpg")
        assert D[0, 0] > 0.99


def test_one_writer_at_a_time(tmp_path: Path, encoder: Encoder) -> None:
    with Index.create(tmp_path / "idx", model_ref(encoder)):
        with pytest.raises(IndexStateError, match="another selfsim process"):
            Index.open(tmp_path / "idx", writable=True)
        with Index.open(tmp_path / "idx") as reader:  # readers are never blocked
            assert len(reader) == 0


def test_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f.txt").write_text("x")
    with pytest.raises(IndexStateError, match="not a selfsim index"):
        Index.open(tmp_path / "x")
    with pytest.raises(IndexStateError, match="not a selfsim index"):
        Index.create(tmp_path / "x", ModelRef("f", "m", {}, 4))


def test_hnsw_index_handles_replacements(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    with Index.create(tmp_path / "idx", model_ref(encoder), kind="hnsw") as index:
        sync(index, encoder, [photo_dir])
    Image.new("RGB", (64, 64), (0, 0, 255)).save(photo_dir / "gen0.png")
    with Index.open(tmp_path / "idx", writable=True) as index:
        sync(index, encoder, [photo_dir])
        assert index.store.kind == "hnsw" and len(index.store) == 8
        ids, xb = index.catalog.vectors(index.model.dim)
        D, I = index.search(xb, 1)
        assert np.array_equal(I[:, 0], ids)


def test_hnsw_adds_and_deletes_never_rebuild_the_graph(tmp_path: Path, monkeypatch) -> None:
    from selfsim.index.catalog import NewImage
    from selfsim.index.store import COMPACT_SHARE

    rng = np.random.default_rng(0)

    def picture(i: int) -> NewImage:
        v = rng.standard_normal(16).astype(np.float32)
        return NewImage(f"/pics/{i}.jpg", f"{i:064x}", 10, 1, 8, 8, v / np.linalg.norm(v), i)

    rebuilds = []
    monkeypatch.setattr(Index, "rebuild_store", lambda self, f=Index.rebuild_store: rebuilds.append(1) or f(self))
    model = ModelRef("f" * 16, "m", {"model": "m", "weights": None}, 16)
    with Index.create(tmp_path / "idx", model, kind="hnsw") as index:
        index.add([picture(i) for i in range(200)])
    assert rebuilds == [1]  # the first store of a new index
    with Index.open(tmp_path / "idx", writable=True) as index:
        assert len(index.store) == 200 and rebuilds == [1]  # loaded from its file
        index.add([picture(3)])  # replaces /pics/3.jpg: the old vector becomes a tombstone
        gone = [int(i) for i in index.catalog.ids()[:20]]
        index.remove(gone)
        index.add([picture(i) for i in range(200, 230)])
        assert rebuilds == [1] and len(index.store) == len(index) == 210
        ids, xb = index.catalog.vectors(16)
        _, I = index.search(xb, 1)
        assert np.array_equal(I[:, 0], ids) and not np.isin(I, gone).any()
    with Index.open(tmp_path / "idx") as index:  # tombstones come back from the file and the catalog
        assert len(index.store) == 210 and rebuilds == [1]
    with Index.open(tmp_path / "idx", writable=True) as index:
        index.remove([int(i) for i in index.catalog.ids()[: int(COMPACT_SHARE * 240)]])
        assert len(index.store) == len(index) and rebuilds == [1, 1]  # compacted once they pile up
