"""The commands with a Milvus Lite index (``--index milvus-lite://...``): the same
answers as the folder index, through the CLI and the HTTP service."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("milvus_lite")


def selfsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_index_search_and_dedup_answer_as_the_folder_index_does(photo_dir: Path, tmp_path: Path) -> None:
    shutil.copy(photo_dir / "orange.jpg", photo_dir / "orange copy.jpg")
    folder, milvus = str(tmp_path / "pics.idx"), f"milvus-lite://{tmp_path / 'pics.db'}"
    for where in (folder, milvus):
        r = selfsim("index", str(photo_dir), "--index", where, "-q")
        assert r.returncode == 0, r.stderr
    queries = [str(photo_dir / "baboon.jpg"), str(photo_dir / "gen3.png")]
    answers = {}
    for where in (folder, milvus):
        r = selfsim("search", "--index", where, *queries, "-k", "9", "--json")  # all: no tie at a cut-off
        assert r.returncode == 0, r.stderr
        answers[where] = [json.loads(line) for line in r.stdout.splitlines()]
    for a, b in zip(answers[folder], answers[milvus], strict=True):
        mine = {h["path"]: h for h in b["hits"]}  # identical copies tie: their order may differ
        assert set(mine) == {h["path"] for h in a["hits"]}
        for ha in a["hits"]:  # float16 in the folder, float32 in Milvus
            hb = mine[ha["path"]]
            assert abs(ha["score"] - hb["score"]) < 1e-3 and abs(ha["similarity"] - hb["similarity"]) < 1e-3
    groups = {}
    for where in (folder, milvus):
        r = selfsim("dedup", "--index", where, "--json")
        assert r.returncode == 0, r.stderr
        groups[where] = [(g["kind"], sorted([g["keeper"], *g["members"]])) for g in json.loads(r.stdout)["groups"]]
    assert groups[folder] == groups[milvus] and len(groups[milvus]) == 1
    # Incremental: nothing new is embedded, a deleted file is pruned.
    (photo_dir / "gen0.png").unlink()
    r = selfsim("index", str(photo_dir), "--index", milvus)
    assert r.returncode == 0 and "(0 added, 0 updated, 1 removed, 8 unchanged" in r.stderr, r.stdout + r.stderr


def test_rebuild_fills_a_collection_beside_then_takes_its_place(photo_dir: Path, tmp_path: Path) -> None:
    from selfsim.index import Index, is_index

    where = f"milvus-lite://{tmp_path / 'pics.db'}"
    assert selfsim("index", str(photo_dir), "--index", where, "-q").returncode == 0
    (photo_dir / "gen0.png").unlink()
    r = selfsim("index", str(photo_dir), "--index", where, "--rebuild")
    assert r.returncode == 0 and "7 images (7 added" in r.stderr, r.stderr
    assert not is_index(where + "?collection=images_rebuild")
    with Index.open(where) as index:
        assert len(index) == 7 and index.catalog.generation > 0
        _, xb = index.catalog.vectors(index.model.dim)
        D, _ = index.search(xb, 1)
        assert (D[:, 0] > 0.999).all()


def test_one_line_errors(tmp_path: Path, photo_dir: Path) -> None:
    r = selfsim("search", "--index", "milvus://127.0.0.1:1/images", str(photo_dir / "baboon.jpg"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "cannot reach Milvus at 127.0.0.1:1" in r.stderr
    r = selfsim("search", "--index", f"milvus-lite://{tmp_path / 'none.db'}", str(photo_dir / "baboon.jpg"))
    assert r.returncode == 1 and "index not found" in r.stderr and r.stderr.count("\n") == 1


def test_the_service_searches_adds_and_deletes(photo_dir: Path, tmp_path: Path, encoder) -> None:
    from fastapi.testclient import TestClient

    from selfsim.errors import SelfsimError
    from selfsim.index import Index, sync
    from selfsim.search import model_ref
    from selfsim.serve.app import create_app
    from selfsim.serve.service import Service

    where = f"milvus-lite://{tmp_path / 'pics.db'}"
    with Index.create(where, model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    with pytest.raises(SelfsimError, match="--uploads"):
        Service(where, token="t0ken-1234", encoder=encoder)
    service = Service(where, token="t0ken-1234", uploads=tmp_path / "uploads", encoder=encoder)
    try:
        client = TestClient(create_app(service))
        auth = {"Authorization": "Bearer t0ken-1234"}
        query = (photo_dir / "orange.jpg").read_bytes()
        hits = client.post("/v1/search?k=3&verify=3", files={"image": ("q.jpg", query)}).json()["hits"]
        assert Path(hits[0]["path"]).name == "orange.jpg" and hits[0]["verified"]
        added = client.post("/v1/images", files={"files": ("copy.jpg", query)}, headers=auth).json()["added"][0]
        groups = client.get("/v1/dedup").json()["groups"]
        assert len(groups) == 1 and added["id"] in {m["id"] for m in groups[0]["members"]} | {groups[0]["keeper"]["id"]}
        assert client.delete(f"/v1/images/{added['id']}", headers=auth).status_code == 200
        assert client.get("/v1/info").json()["images"] == 8
    finally:
        service.close()
