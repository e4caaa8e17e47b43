"""What every index backend must do alike (a folder, and a Milvus Lite collection):
incremental sync, exact answers, deletes, replacements, odd file names, the refusal
of another model's vectors, pHashes and local features."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.errors import IndexStateError, SelfsimError
from selfsim.index import Index, ModelRef, sync
from selfsim.index.catalog import NewImage
from selfsim.models.phash import phash64
from selfsim.search import model_ref


def _sync(location: str, folder: Path, encoder, **options):
    index = Index.open(location, writable=True) if _exists(location) else Index.create(location, model_ref(encoder))
    with index:
        return sync(index, encoder, [folder], **options), len(index)


def _exists(location: str) -> bool:
    from selfsim.index import is_index

    return is_index(location)


def test_sync_is_incremental(index_location: str, photo_dir: Path, encoder) -> None:
    report, n = _sync(index_location, photo_dir, encoder)
    assert (report.added, report.embedded, n) == (8, 8, 8)
    report, n = _sync(index_location, photo_dir, encoder)
    assert (report.unchanged, report.embedded, n) == (8, 0, 8)
    Image.new("RGB", (64, 64), (200, 30, 30)).save(photo_dir / "gen0.png")  # changed content
    (photo_dir / "gen1.png").unlink()
    shutil.copy(photo_dir / "gen2.png", photo_dir / "copy_of_gen2.png")  # new, same bytes
    os.utime(photo_dir / "gen3.png", ns=(1, 1))  # touched, same bytes
    report, n = _sync(index_location, photo_dir, encoder)
    assert (report.removed, report.embedded, report.reused, n) == (1, 1, 2, 8)
    with Index.open(index_location) as index:
        rec = index.catalog.record_at(str((photo_dir / "gen3.png").resolve()))
        assert rec is not None and rec.mtime_ns == 1


def test_every_picture_finds_itself_and_deletes_hold(index_location: str, photo_dir: Path, encoder) -> None:
    _sync(index_location, photo_dir, encoder)
    with Index.open(index_location, writable=True) as index:
        ids, xb = index.catalog.vectors(encoder.dim)
        assert len(ids) == 8 and np.allclose(np.linalg.norm(xb, axis=1), 1, atol=1e-3)
        D, I = index.search(xb, 3)
        assert np.array_equal(I[:, 0], ids) and (D[:, 0] > 0.999).all() and (D[:, 0] <= 1).all()
        assert np.allclose(index.vectors(ids[::-1]), xb[::-1])
        paths = index.paths(ids)
        gone = [int(i) for i in ids[:3]]
        index.remove(gone)
        assert len(index) == 5
        _, I = index.search(xb, 8)
        assert not np.isin(I, gone).any() and (I[:, 5:] == -1).all()
        assert set(index.paths(ids).values()) == {paths[int(i)] for i in ids[3:]}
    with Index.open(index_location) as index:  # what a new reader sees
        assert sorted(r.id for r in index.records()) == sorted(int(i) for i in ids[3:])
        with pytest.raises(IndexStateError):
            index.vectors([gone[0]])


def test_replacing_a_path_keeps_one_row(index_location: str, encoder) -> None:
    model = ModelRef("f" * 16, "m", {"model": "m", "weights": None}, 8)
    rng = np.random.default_rng(0)

    def picture(path: str, seed: int) -> NewImage:
        v = rng.standard_normal(8).astype(np.float32)
        return NewImage(path, f"{seed:064x}", 10, seed, 8, 8, v / np.linalg.norm(v), seed)

    odd = os.fsdecode(b"/pics/caf\xe9 \"quoted\" \\ name.jpg")  # Latin-1 bytes: not UTF-8
    with Index.create(index_location, model) as index:
        index.add([picture("/pics/a.jpg", 1), picture(odd, 2)])
        ids = index.add([picture("/pics/a.jpg", 3), picture("/pics/b.jpg", 4), picture("/pics/b.jpg", 5)])
        assert len(index) == 3 and len(ids) == 3
    with Index.open(index_location) as index:
        by_path = {r.path: r for r in index.records()}
        assert set(by_path) == {"/pics/a.jpg", "/pics/b.jpg", odd}
        assert (by_path["/pics/a.jpg"].mtime_ns, by_path["/pics/b.jpg"].mtime_ns) == (3, 5)
        assert index.catalog.record_at(odd).sha256 == f"{2:064x}"
        assert os.fsencode(index.paths([by_path[odd].id])[by_path[odd].id]) == b"/pics/caf\xe9 \"quoted\" \\ name.jpg"
        assert index.catalog.twin(f"{3:064x}", model.fingerprint, 8) is not None
        assert index.catalog.twin(f"{1:064x}", model.fingerprint, 8) is None  # replaced


def test_another_models_vectors_are_refused(index_location: str, encoder) -> None:
    with Index.create(index_location, model_ref(encoder)):
        pass
    other = ModelRef("0123456789abcdef", "mine", {"model": "mine", "weights": None}, 1280)
    with Index.open(index_location) as index:
        assert index.model == model_ref(encoder)
        with pytest.raises(IndexStateError, match="--rebuild"):
            index.check_model(other)
    with pytest.raises(IndexStateError, match="already an index"):
        Index.create(index_location, model_ref(encoder))


def test_phashes_and_local_features(index_location: str, photo_dir: Path, encoder, tmp_path: Path,
                                    monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # Milvus: features are cached per machine
    _sync(index_location, photo_dir, encoder)
    with Index.open(index_location) as index:
        baboon = index.catalog.record_at(str((photo_dir / "baboon.jpg").resolve()))
        h = phash64(Image.open(photo_dir / "baboon.jpg").convert("RGB"))
        [(ids, dist)] = index.phash_search(np.array([h]), 4)
        assert baboon.id in ids.tolist() and dist[ids.tolist().index(baboon.id)] == 0
        assert index.catalog.get_features(baboon.sha256, "test") is None
        index.catalog.put_features(baboon.sha256, "test", b"\x01\x02")  # a reader may cache features
        assert index.catalog.get_features(baboon.sha256, "test") == b"\x01\x02"
    with Index.open(index_location) as index:
        assert index.catalog.get_features(baboon.sha256, "test") == b"\x01\x02"


def test_a_reader_sees_new_pictures_after_refresh(index_location: str, photo_dir: Path, encoder) -> None:
    _sync(index_location, photo_dir, encoder)
    with Index.open(index_location) as reader:
        assert len(reader) == 8
        generation = reader.catalog.generation
        make = Image.new("RGB", (48, 48), (10, 200, 90))
        make.save(photo_dir / "new.png")
        _sync(index_location, photo_dir, encoder)
        assert reader.refresh() and reader.catalog.generation > generation and len(reader) == 9
        assert not reader.refresh()


@pytest.mark.parametrize("address,message", [
    ("milvus-lite://", "give a Milvus Lite file"),
    ("milvus-lite:///tmp/pics.sqlite", "must end in .db"),
    ("milvus-lite:///tmp/pics.db?index=BOGUS", "index=BOGUS is not one of"),
    ("milvus-lite:///tmp/pics.db?colour=red", "unknown option 'colour'"),
    ("milvus://:19530/x", "give a server and a collection"),
    ("milvus://localhost:19530/bad-name", "not a Milvus collection name"),
    ("milvus://localhost:port/x", "port is not a number"),
    ("milvus://localhost/x?batch=0", "batch must be at least 1"),
])
def test_bad_addresses_are_one_line_errors(address: str, message: str) -> None:
    from selfsim.index.address import parse_address

    with pytest.raises(SelfsimError, match=message):
        parse_address(address)


def test_address_options_and_credentials(monkeypatch) -> None:
    from selfsim.index.address import is_milvus, parse_address, with_collection

    monkeypatch.setenv("SELFSIM_MILVUS_TOKEN", "root:Milvus")
    a = parse_address("milvus://db.example.org/photos?index=hnsw&consistency=bounded&batch=500")
    assert (a.uri, a.collection, a.index_type, a.consistency, a.batch, a.token) == (
        "http://db.example.org:19530", "photos", "HNSW", "Bounded", 500, "root:Milvus")
    b = parse_address("milvus+https://me:s%40cret@db:443/photos")
    assert (b.uri, b.token, str(b)) == ("https://db:443", "me:s@cret", "milvus+https://db:443/photos")  # no password
    c = parse_address("milvus-lite://pics.db?collection=mine")
    assert (c.lite, c.collection, c.index_type, c.uri) == (True, "mine", "FLAT", str(Path("pics.db").absolute()))
    assert is_milvus("milvus-lite://x.db") and not is_milvus("pics.idx") and not is_milvus(Path("milvus:x"))
    # --rebuild's collection beside: reached as the original is, credentials and options kept.
    assert with_collection("milvus+https://me:pw@db:443/photos?index=HNSW", "photos_rebuild") == \
        "milvus+https://me:pw@db:443/photos_rebuild?index=HNSW"
    assert with_collection("milvus://db/photos", "x") == "milvus://db/x"
    assert with_collection("milvus-lite://pics.db?collection=a&batch=9", "a_rebuild") == \
        "milvus-lite://pics.db?collection=a_rebuild&batch=9"


def test_milvus_failures_are_one_line_errors(tmp_path: Path, encoder) -> None:
    pytest.importorskip("milvus_lite")
    from selfsim.index.milvus_catalog import MilvusError

    with pytest.raises(MilvusError, match="cannot reach Milvus at 127.0.0.1:1"):
        Index.open("milvus://127.0.0.1:1/images")
    where = f"milvus-lite://{tmp_path / 'pics.db'}"
    with pytest.raises(IndexStateError, match="index not found"):
        Index.open(where)
    with Index.create(where, model_ref(encoder)):
        pass
    with pytest.raises(IndexStateError, match="no collection 'other'"):
        Index.open(where + "?collection=other")
    with pytest.raises(SelfsimError, match=r"\?index=HNSW"):
        Index.create(where + "?collection=other", model_ref(encoder), kind="hnsw")


def test_the_feature_cache_is_bounded_and_evicts_the_oldest_first(index_location: str, photo_dir: Path,
                                                                   encoder, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SELFSIM_FEATURE_CACHE_MB", str(1000 / 2**20))  # 1,000 bytes
    _sync(index_location, photo_dir, encoder)
    keys = [f"{i:064x}" for i in range(5)]
    with Index.open(index_location, writable=index_location.startswith("milvus")) as index:
        for k in keys:  # 300 bytes each: past 1,000 the oldest go until at most 900 are left
            index.catalog.put_features(k, "test", bytes([int(k[-1])]) * 300)
    with Index.open(index_location) as index:
        held = [k for k in keys if index.catalog.get_features(k, "test") is not None]
        assert held == keys[-3:]
        assert index.catalog.get_features(keys[-1], "test") == b"\x04" * 300
