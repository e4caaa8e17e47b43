"""The HTTP API in-process (FastAPI's TestClient): answers, and refusals with one-line errors."""

from __future__ import annotations

import io
import json
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from selfsim.serve.app import create_app
from selfsim.serve.limits import Limits
from selfsim.serve.service import Service

from .conftest import TOKEN, edited_copy

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def make_client(index_dir: Path, encoder):
    services: list[Service] = []

    def make(token: str | None = None, **limits) -> TestClient:
        service = Service(index_dir, token=token, limits=Limits(**limits), encoder=encoder)
        services.append(service)
        return TestClient(create_app(service))

    yield make
    for s in services:
        s.close()


@pytest.fixture()
def client(make_client) -> TestClient:
    return make_client()


def png_bytes(size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    from selfsim.data.synthetic import synthetic_picture

    out = io.BytesIO()
    synthetic_picture(seed, size).save(out, "PNG")
    return out.getvalue()


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with almost no data: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def assert_one_line_error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"}
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return str(body["error"])


# -- answers --------------------------------------------------------------------

def test_search_by_upload_finds_the_original(client: TestClient, photo_dir: Path) -> None:
    query = edited_copy(photo_dir / "baboon.jpg")
    r = client.post("/v1/search?k=3", files={"image": ("my query.jpg", query, "image/jpeg")})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "my query.jpg" and body["k"] == 3 and len(body["hits"]) == 3
    top = body["hits"][0]
    assert Path(top["path"]).name == "baboon.jpg"
    assert set(top) == {"id", "path", "score", "similarity", "verified"}
    assert top["score"] > body["hits"][1]["score"]
    assert not top["verified"]
    verified = client.post("/v1/search?k=3&verify=5", files={"image": ("q.jpg", query)}).json()
    assert verified["hits"][0]["id"] == top["id"] and verified["hits"][0]["verified"]
    assert verified["hits"][0]["score"] > 0.5  # a verified hit outranks every unverified one


def test_search_by_id_leaves_the_image_out(client: TestClient) -> None:
    r = client.get("/v1/images/1/similar?k=4")
    assert r.status_code == 200
    ids = [h["id"] for h in r.json()["hits"]]
    assert len(ids) == 4 and 1 not in ids and len(set(ids)) == 4
    assert_one_line_error(client.get("/v1/images/999/similar"), 404)


def test_match_two_uploads_with_evidence(client: TestClient, photo_dir: Path) -> None:
    a = (photo_dir / "baboon.jpg").read_bytes()
    r = client.post("/v1/match", files={"a": ("a.jpg", a), "b": ("b.jpg", edited_copy(photo_dir / "baboon.jpg"))})
    assert r.status_code == 200
    m = r.json()
    assert m["match"] and m["score"] > 0.9 and m["inliers"] >= 20
    assert len(m["homography"]) == 3 and len(m["points_a"]) == len(m["points_b"]) > 0
    assert tuple(m["size_a"]) == Image.open(photo_dir / "baboon.jpg").size
    x0, y0, x1, y1 = m["box_a"]
    assert 0 <= x0 < x1 <= m["size_a"][0] and 0 <= y0 < y1 <= m["size_a"][1]
    other = client.post("/v1/match", files={"a": ("a.jpg", a), "b": ("b.jpg", (photo_dir / "orange.jpg").read_bytes())})
    assert other.status_code == 200 and not other.json()["match"]
    png = client.post("/v1/match?format=png", files={"a": ("a.jpg", a), "b": ("b.jpg", a)})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).width > Image.open(photo_dir / "baboon.jpg").width


def test_match_against_an_indexed_image(client: TestClient, photo_dir: Path) -> None:
    hits = client.post("/v1/search?k=1", files={"image": ("q.jpg", edited_copy(photo_dir / "orange.jpg"))}).json()
    image_id = hits["hits"][0]["id"]
    r = client.post(f"/v1/match?b_id={image_id}", files={"a": ("q.jpg", edited_copy(photo_dir / "orange.jpg"))})
    assert r.status_code == 200 and r.json()["match"]
    assert "exactly one" in assert_one_line_error(client.post("/v1/match", files={"a": ("q.jpg", png_bytes())}), 422)
    both = client.post(f"/v1/match?b_id={image_id}", files={"a": ("a.png", png_bytes()), "b": ("b.png", png_bytes())})
    assert_one_line_error(both, 422)
    assert_one_line_error(client.post("/v1/match?b_id=999", files={"a": ("a.png", png_bytes())}), 404)


def test_thumbnail_by_id_only(client: TestClient, index_dir: Path) -> None:
    r = client.get("/v1/images/1/thumbnail?size=40")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(r.content)).size) <= 40
    assert_one_line_error(client.get("/v1/images/1/thumbnail?size=5000"), 422)
    assert_one_line_error(client.get("/v1/images/999/thumbnail"), 404)
    r = client.get("/v1/images/..%2F..%2Fetc%2Fpasswd/thumbnail")  # ids, never paths
    assert r.status_code in (404, 422) and "error" in r.json()


def test_thumbnail_of_a_file_gone_since_indexing(client: TestClient) -> None:
    info = client.get("/v1/images/2").json()
    Path(info["path"]).unlink()
    assert "file not found" in assert_one_line_error(client.get("/v1/images/2/thumbnail"), 410)


def test_info_health_dedup_and_docs(client: TestClient, photo_dir: Path) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}
    info = client.get("/v1/info").json()
    assert info["images"] == 8 and info["dim"] == 1280 and info["model"] == "default" and not info["writable"]
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/search", "/v1/match", "/v1/dedup", "/v1/images", "/v1/images/{image_id}/thumbnail"} <= set(paths)
    assert client.get("/v1/dedup").json()["groups"] == []
    assert client.get("/").text.lower().startswith("<!doctype html")


def test_dedup_groups_as_the_command_gives_them(make_client, photo_dir: Path) -> None:
    client = make_client(token=TOKEN)
    copy = (photo_dir / "orange.jpg").read_bytes()
    added = client.post("/v1/images", files={"files": ("copy.jpg", copy)}, headers=AUTH).json()["added"][0]
    groups = client.get("/v1/dedup").json()["groups"]
    assert len(groups) == 1 and groups[0]["kind"] == "exact"
    assert {m["id"] for m in groups[0]["members"]} == {added["id"], groups[0]["keeper"]["id"]}


def test_a_file_name_that_is_not_utf8(tmp_path: Path, encoder) -> None:
    from selfsim.index import Index, sync
    from selfsim.search import model_ref

    folder = tmp_path / "odd"
    folder.mkdir()
    raw = bytes(str(folder), "utf-8") + b"/caf\xe9.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(raw.decode("utf-8", "surrogateescape"), "PNG")
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [folder])
    service = Service(tmp_path / "idx", encoder=encoder)
    try:
        r = TestClient(create_app(service)).post("/v1/search?k=1", files={"image": ("q.png", png_bytes())})
        assert r.status_code == 200
        path = r.json()["hits"][0]["path"]
        assert path.encode("utf-8", "surrogateescape") == raw  # the exact bytes come back
    finally:
        service.close()


# -- refusals --------------------------------------------------------------------

def test_upload_over_the_size_cap_is_refused_while_read(make_client) -> None:
    client = make_client(max_body_bytes=100_000)
    big = b"\xff\xd8" + b"x" * 300_000
    assert "cap" in assert_one_line_error(client.post("/v1/search", files={"image": ("big.jpg", big)}), 413)

    def chunks():  # no Content-Length: the cap is enforced as the body arrives
        for _ in range(300):
            yield b"y" * 1000

    r = client.post("/v1/search", content=chunks(),
                    headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    assert_one_line_error(r, 413)
    assert client.post("/v1/search", files={"image": ("s.png", png_bytes())}).status_code == 200


def test_picture_over_the_pixel_cap_is_refused_before_decoding(make_client) -> None:
    client = make_client(max_pixels=1_000_000)
    bomb = huge_png_header(60_000, 60_000)  # 3.6 gigapixels announced in 200 bytes
    assert "too large" in assert_one_line_error(client.post("/v1/search", files={"image": ("b.png", bomb)}), 413)
    big = png_bytes((1200, 1000))
    assert_one_line_error(client.post("/v1/search", files={"image": ("b.png", big)}), 413)
    assert_one_line_error(client.post("/v1/match", files={"a": ("a.png", big), "b": ("b.png", png_bytes())}), 413)


@pytest.mark.parametrize("data,name,ctype", [
    (b"hello, this is text", "photo.jpg", "image/jpeg"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "x.png", "image/png"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "doc.jpg", "image/jpeg"),
    (b"GIF87a", "a.gif", "image/gif"),  # a signature and nothing else
])
def test_formats_outside_the_allow_list_get_415_by_content(client: TestClient, data: bytes, name: str,
                                                           ctype: str) -> None:
    assert_one_line_error(client.post("/v1/search", files={"image": (name, data, ctype)}), 415)


def test_an_allowed_format_with_any_name_is_accepted(client: TestClient) -> None:
    r = client.post("/v1/search", files={"image": ("notes.txt", png_bytes(), "text/plain")})
    assert r.status_code == 200


def test_corrupt_and_empty_pictures_get_422(client: TestClient, photo_dir: Path) -> None:
    jpeg = (photo_dir / "baboon.jpg").read_bytes()
    truncated = jpeg[: len(jpeg) // 3]
    png = png_bytes((200, 200))
    broken = png[:60] + bytes(len(png) - 60)  # the header survives, the data does not
    for data in (truncated, broken):
        r = client.post("/v1/search", files={"image": ("t.jpg", data)})
        assert r.status_code in (200, 422), r.text  # Pillow pads some truncations; never 500
        if r.status_code == 422:
            assert_one_line_error(r, 422)
    assert_one_line_error(client.post("/v1/search", files={"image": ("e.jpg", b"")}), 422)


@pytest.mark.parametrize("query", ["k=0", "k=101", "k=abc", "verify=-1", "verify=51", "k=1.5"])
def test_bad_parameters_get_422(client: TestClient, query: str) -> None:
    assert_one_line_error(client.post(f"/v1/search?{query}", files={"image": ("s.png", png_bytes())}), 422)


def test_missing_upload_gets_422(client: TestClient) -> None:
    assert "image" in assert_one_line_error(client.post("/v1/search"), 422)
    assert_one_line_error(client.post("/v1/search", data={"other": "x"}), 422)


def test_unknown_paths_and_methods_are_json(client: TestClient) -> None:
    assert_one_line_error(client.get("/v2/search"), 404)
    assert_one_line_error(client.get("/v1/search"), 405)


def test_no_temporary_files_are_left(make_client, tmp_path: Path, monkeypatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    client = make_client(max_body_bytes=3_000_000)
    big_ok = png_bytes((900, 700))  # large enough to be spooled to a file by the form parser
    for files in ({"image": ("a.png", big_ok)}, {"image": ("a.txt", b"text" * 400_000)},
                  {"image": ("b.png", huge_png_header(90_000, 90_000))}, {"image": ("c.jpg", b"x" * 4_000_000)}):
        client.post("/v1/search", files=files)
    assert list(scratch.iterdir()) == []


# -- writes -----------------------------------------------------------------------

def test_read_only_server_refuses_writes_with_403(client: TestClient) -> None:
    message = assert_one_line_error(client.post("/v1/images", files={"files": ("a.png", png_bytes())}, headers=AUTH),
                                    403)
    assert "--token" in message and "SELFSIM_TOKEN" in message
    assert_one_line_error(client.delete("/v1/images/1", headers=AUTH), 403)


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-xx", f"Basic {TOKEN}", TOKEN])
def test_wrong_or_missing_token_gets_401(make_client, header: str | None) -> None:
    client = make_client(token=TOKEN)
    headers = {"Authorization": header} if header else {}
    r = client.post("/v1/images", files={"files": ("a.png", png_bytes())}, headers=headers)
    assert_one_line_error(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    assert_one_line_error(client.delete("/v1/images/1", headers=headers), 401)
    assert client.get("/v1/info").json()["images"] == 8


def test_add_stores_under_server_names_and_search_finds_it(make_client, index_dir: Path, tmp_path: Path) -> None:
    client = make_client(token=TOKEN)
    new = png_bytes((120, 90), seed=77)
    r = client.post("/v1/images", headers=AUTH,
                    files=[("files", ("../../escape.png", new)), ("files", ("/etc/passwd", png_bytes(seed=78)))])
    assert r.status_code == 201, r.text
    added = r.json()["added"]
    assert r.json()["images"] == 10 and [a["name"] for a in added] == ["../../escape.png", "/etc/passwd"]
    for a in added:
        stored = Path(a["path"])
        assert stored.parent == (index_dir / "uploads").resolve() and stored.name.startswith(a["sha256"][:32])
        assert stored.read_bytes() in (new, png_bytes(seed=78))
    assert not (tmp_path / "escape.png").exists() and not list(tmp_path.parent.glob("escape.png"))
    hits = client.post("/v1/search?k=1", files={"image": ("q.png", new)}).json()["hits"]
    assert hits[0]["id"] == added[0]["id"] and hits[0]["similarity"] > 0.999
    again = client.post("/v1/images", headers=AUTH, files={"files": ("again.png", new)}).json()
    assert again["added"][0]["existed"] and again["added"][0]["id"] == added[0]["id"] and again["images"] == 10


def test_one_bad_file_and_nothing_is_added(make_client, index_dir: Path) -> None:
    client = make_client(token=TOKEN)
    r = client.post("/v1/images", headers=AUTH,
                    files=[("files", ("good.png", png_bytes(seed=90))), ("files", ("bad.jpg", b"not a picture"))])
    assert "files[1]" in assert_one_line_error(r, 415)
    assert client.get("/v1/info").json()["images"] == 8
    assert not (index_dir / "uploads").exists() or not list((index_dir / "uploads").iterdir())
    assert_one_line_error(client.post("/v1/images", headers=AUTH, data={"x": "1"}), 422)


def test_delete_removes_from_the_index_and_only_server_stored_files(make_client, photo_dir: Path) -> None:
    client = make_client(token=TOKEN)
    added = client.post("/v1/images", headers=AUTH, files={"files": ("n.png", png_bytes(seed=5))}).json()["added"][0]
    r = client.delete(f"/v1/images/{added['id']}", headers=AUTH)
    assert r.status_code == 200 and r.json()["file_deleted"] and not Path(added["path"]).exists()
    original = client.get("/v1/images/1").json()["path"]
    r = client.delete("/v1/images/1", headers=AUTH)
    assert r.status_code == 200 and not r.json()["file_deleted"] and Path(original).exists()
    assert client.get("/v1/info").json()["images"] == 7
    assert_one_line_error(client.delete("/v1/images/1", headers=AUTH), 404)
    hits = client.get("/v1/images/2/similar?k=20").json()["hits"]
    assert {h["id"] for h in hits}.isdisjoint({1, added["id"]})


def test_errors_are_json_even_for_unexpected_failures(make_client, monkeypatch) -> None:
    client = make_client()
    service = client.app.state.service  # type: ignore[attr-defined]

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(service, "search_upload", broken)
    client = TestClient(client.app, raise_server_exceptions=False)
    r = client.post("/v1/search", files={"image": ("s.png", png_bytes())})
    assert "RuntimeError" in assert_one_line_error(r, 500) and "disk" not in r.json()["error"]
    assert client.get("/v1/health").status_code == 200
    assert json.loads(r.text)  # a body, not an HTML page
