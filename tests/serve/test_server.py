"""``selfsim serve`` as users start it: a real server process, real HTTP, kill -9."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from selfsim.data.synthetic import synthetic_picture
from selfsim.index import Index

from .conftest import TOKEN, edited_copy, post

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def png(seed: int, size: tuple[int, int] = (96, 72)) -> bytes:
    out = io.BytesIO()
    synthetic_picture(seed, size).save(out, "PNG")
    return out.getvalue()


def test_an_acknowledged_add_survives_kill_9(index_dir: Path, start_server) -> None:
    server = start_server(index_dir, token=TOKEN)
    status, _, body = post(f"{server.url}/v1/images", [("files", "new.png", png(301))], AUTH)
    assert status == 201, body
    added = json.loads(body)["added"][0]
    server.kill()  # no shutdown: the vector file is not saved, the catalog must be enough

    with Index.open(index_dir) as index:
        record = index.catalog.record(added["id"])
        assert record is not None and record.sha256 == added["sha256"] and len(index) == 9
    assert Path(added["path"]).read_bytes() == png(301)
    again = start_server(index_dir)
    status, _, body = post(f"{again.url}/v1/search?k=1", [("image", "q.png", png(301))])
    assert status == 200 and json.loads(body)["hits"][0]["id"] == added["id"]


def test_50_concurrent_searches_succeed_or_get_503_with_retry_after(index_dir: Path, photo_dir: Path,
                                                                    start_server) -> None:
    query = edited_copy(photo_dir / "baboon.jpg")
    for args in ((), ("--slots", "1", "--queue", "4")):
        server = start_server(index_dir, *args)
        barrier = threading.Barrier(50)

        def one(_: int, barrier: threading.Barrier = barrier, url: str = server.url) -> tuple[int, dict[str, str], bytes]:
            barrier.wait()
            return post(f"{url}/v1/search?k=3", [("image", "q.jpg", query)])

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(50)))
        codes = [status for status, _, _ in results]
        assert set(codes) <= {200, 503}, codes
        for status, headers, body in results:
            if status == 200:
                assert Path(json.loads(body)["hits"][0]["path"]).name == "baboon.jpg"
            else:
                assert int(headers["retry-after"]) >= 1 and "busy" in json.loads(body)["error"]
        if args:  # 1 running + 4 waiting: most of 50 at once are told to come back
            assert codes.count(503) >= 30 and codes.count(200) >= 1
        else:
            assert codes.count(200) == 50, [b for _, _, b in results if b and b[:1] == b"{" and b"busy" in b][:1]
        server.stop()


def test_searches_during_adds_and_deletes_see_whole_states(index_dir: Path, photo_dir: Path,
                                                           start_server) -> None:
    server = start_server(index_dir, token=TOKEN)
    query = edited_copy(photo_dir / "orange.jpg")
    stop = threading.Event()
    failures: list[str] = []
    seen: list[int] = []

    def searcher() -> None:
        while not stop.is_set():
            status, _, body = post(f"{server.url}/v1/search?k=20", [("image", "q.jpg", query)])
            if status != 200:
                failures.append(f"search {status}: {body[:200]!r}")
                continue
            hits = json.loads(body)["hits"]
            ids = [h["id"] for h in hits]
            if len(ids) != len(set(ids)) or Path(hits[0]["path"]).name != "orange.jpg":
                failures.append(f"torn result: {hits}")
            seen.append(len(hits))

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    added = []
    try:
        for i in range(8):
            status, _, body = post(f"{server.url}/v1/images", [("files", f"{i}.png", png(400 + i))], AUTH)
            assert status == 201, body
            added.append(json.loads(body)["added"][0]["id"])
        for image_id in added[:4]:
            req = urllib.request.Request(f"{server.url}/v1/images/{image_id}", method="DELETE", headers=AUTH)
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 200
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    assert failures == []
    assert len(seen) >= 3 and min(seen) >= 8 and max(seen) <= 16  # 8 originals, up to 8 added
    assert get_json(f"{server.url}/v1/info")["images"] == 12
    status, _, body = post(f"{server.url}/v1/search?k=20", [("image", "q.jpg", query)])
    assert status == 200 and {h["id"] for h in json.loads(body)["hits"]} >= set(added[4:])


def test_a_read_only_server_sees_what_selfsim_index_adds(index_dir: Path, photo_dir: Path, tmp_path: Path,
                                                         start_server) -> None:
    server = start_server(index_dir)
    assert get_json(f"{server.url}/v1/info")["images"] == 8
    more = tmp_path / "more"
    more.mkdir()
    Image.open(io.BytesIO(png(500, (120, 80)))).save(more / "new.png")
    subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(more), "--index", str(index_dir), "-q"],
                   check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while get_json(f"{server.url}/v1/info")["images"] != 9 and time.monotonic() < deadline:
        time.sleep(0.5)
    status, _, body = post(f"{server.url}/v1/search?k=1", [("image", "q.png", png(500, (120, 80)))])
    assert status == 200 and Path(json.loads(body)["hits"][0]["path"]) == (more / "new.png").resolve()


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_serve_cli_errors_are_one_line(tmp_path: Path, index_dir: Path) -> None:
    help_text = run_cli("serve", "--help").stdout
    assert "curl -F image=@query.jpg" in help_text and "SELFSIM_TOKEN" in help_text
    missing = run_cli("serve", "--index", str(tmp_path / "nope"))
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0 and "not found" in missing.stderr
    short = run_cli("serve", "--index", str(index_dir), "--token", "abc")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    bad_port = run_cli("serve", "--index", str(index_dir), "--port", "99999")
    assert bad_port.returncode == 2 and "port number" in bad_port.stderr
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_cli("serve", "--index", str(index_dir), "--port", str(taken.getsockname()[1]))
    assert busy.returncode == 1 and "cannot listen" in busy.stderr and busy.stderr.count("\n") == 1


def test_a_client_that_sends_everything_first_still_reads_the_413(index_dir: Path, start_server) -> None:
    server = start_server(index_dir, "--max-upload-mb", "1")
    status, _, body = post(f"{server.url}/v1/search", [("image", "big.jpg", b"\xff\xd8" + bytes(6 * 2**20))])
    assert status == 413 and "cap" in json.loads(body)["error"]
    status, _, body = post(f"{server.url}/v1/search?k=1", [("image", "q.png", png(1))])
    assert status == 200
