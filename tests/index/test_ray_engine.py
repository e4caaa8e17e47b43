"""``--engine ray``: decoding in Ray tasks and embedding in model actors, on a local
Ray runtime, gives the index the local path gives (vectors, skipped files, reuse)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from selfsim.index import Index, sync
from selfsim.search import model_ref

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    yield
    if ray.is_initialized():
        ray.shutdown()


def _hostile(folder: Path) -> None:
    (folder / "notes.txt").write_text("not a picture")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    shutil.copy(folder / "baboon.jpg", os.fsdecode(bytes(folder) + b"/caf\xe9.jpg"))  # not UTF-8, a copy


def _vectors(location: Path) -> dict[str, np.ndarray]:
    with Index.open(location) as index:
        ids, xb = index.catalog.vectors(index.model.dim)
        paths = index.paths(ids)
        return {paths[int(i)]: v for i, v in zip(ids, xb, strict=True)}


def test_ray_gives_the_local_paths_vectors_and_report(photo_dir: Path, tmp_path: Path, encoder) -> None:
    from selfsim.index.ray_engine import ray_engine

    _hostile(photo_dir)
    reports = {}
    for name in ("local", "ray"):
        with Index.create(tmp_path / name, model_ref(encoder)) as index:
            # Two actors on this 2-core machine: decoding must still get a CPU (it once waited forever).
            engine = ray_engine(encoder, actors=2, max_pixels=50_000_000, batch_size=4) if name == "ray" else None
            reports[name] = sync(index, encoder, [photo_dir], engine=engine, batch_size=4)
    local, distributed = _vectors(tmp_path / "local"), _vectors(tmp_path / "ray")
    assert set(local) == set(distributed) and len(local) == 9
    for path, v in local.items():
        assert float(v @ distributed[path]) > 0.999, path
    skipped = {name: sorted((s.path, s.reason) for s in r.skipped) for name, r in reports.items()}
    assert skipped["local"] == skipped["ray"] and len(skipped["ray"]) == 2
    assert reports["ray"].added == reports["local"].added == 9
    # Again: nothing changed, nothing is embedded; a moved file keeps its vector.
    os.rename(photo_dir / "gen0.png", photo_dir / "moved.png")
    with Index.open(tmp_path / "ray", writable=True) as index:
        again = sync(index, encoder, [photo_dir], engine=ray_engine(encoder, max_pixels=50_000_000))
    assert (again.unchanged, again.embedded, again.moved, again.removed) == (8, 0, 1, 0)


def test_the_command(photo_dir: Path, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(photo_dir), "--index",
                        str(tmp_path / "idx"), "--engine", "ray", "--ray-actors", "1", "-q"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with Index.open(tmp_path / "idx") as index:
        assert len(index) == 8
    r = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(photo_dir), "--index",
                        str(tmp_path / "idx"), "--ray-actors", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "go with --engine ray" in r.stderr


@pytest.mark.parametrize(("address", "tries"), [(None, 2), ("ray://cluster.example:10001", 1)])
def test_a_local_start_that_times_out_is_tried_again(monkeypatch, address, tries) -> None:
    from selfsim.errors import SelfsimError
    from selfsim.index import ray_engine

    calls = []

    def slow_node(**kwargs):
        calls.append(kwargs["address"])
        raise Exception("The current node timed out during startup. This could happen ...")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", slow_node)
    with pytest.raises(SelfsimError, match="timed out during startup"):
        ray_engine._start(address)
    assert calls == [address] * tries
