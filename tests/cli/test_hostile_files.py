"""A folder of hostile and unusual files, through `selfsim index` and `selfsim search`
as users run them: every good picture is found as its own top hit, every bad file is
named with its reason, nothing prints a traceback, and nothing hangs."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402

pytestmark = pytest.mark.slow


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header promises width x height grey pixels (all zero)."""
    raw = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    body = b"".join(raw.compress(row) for _ in range(min(height, 64))) + raw.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def ztxt_bomb(picture: Image.Image) -> bytes:
    """A real PNG carrying a zTXt chunk that inflates to 64 MB."""
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    data = buf.getvalue()
    text = b"Comment\x00\x00" + zlib.compress(b"\x00" * (64 << 20), 9)
    return data[:33] + _png_chunk(b"zTXt", text) + data[33:]


def gif_bomb() -> bytes:
    """A GIF whose screen claims 65535 x 65535 pixels."""
    buf = io.BytesIO()
    Image.new("P", (8, 8)).save(buf, format="GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def tiff_bomb() -> bytes:
    """A little-endian TIFF whose one strip claims 60000 x 60000 grey pixels."""
    entries = [(256, 4, 1, 60000), (257, 4, 1, 60000), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, 1), (278, 4, 1, 60000),
               (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, count, value) if typ == 4 else struct.pack("<HHIHH", tag, typ, count, value, 0)
        for tag, typ, count, value in entries
    ) + b"\x00\x00\x00\x00"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 16


def webp_bomb() -> bytes:
    """A WebP (VP8X) whose canvas claims 16384 x 16384 pixels."""
    vp8x = bytes([0x10, 0, 0, 0]) + (16383).to_bytes(3, "little") + (16383).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def build_corpus(folder: Path) -> tuple[list[Path], dict[Path, str]]:
    """Good pictures in unusual forms, and hostile files with the kind of each."""
    folder.mkdir()
    pic = lambda seed, size=(160, 120): make_picture(seed, size)  # noqa: E731
    good: list[Path] = []

    def keep(name: str | bytes, save) -> None:  # noqa: ANN001
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
        save(path)
        good.append(path)

    keep("plain.jpg", lambda p: pic(1).save(p, format="JPEG", quality=90))
    keep(b"caf\xe9-latin1.jpg", lambda p: pic(2).save(p, format="JPEG"))  # a name that is not UTF-8
    keep("new\nline.png", lambda p: pic(3).save(p, format="PNG"))
    keep("bidi-\u202egnp.exe", lambda p: pic(4).save(p, format="PNG"))
    keep("wide.png", lambda p: pic(5, (600, 120)).resize((3000, 12)).save(p))  # extreme aspect ratio
    keep("tall.webp", lambda p: pic(6).resize((10, 1600)).save(p, format="WEBP"))
    keep("one-pixel.png", lambda p: Image.new("RGB", (1, 1), (250, 10, 120)).save(p))
    keep("cmyk.jpg", lambda p: pic(7).convert("CMYK").save(p, format="JPEG"))
    keep("sixteen-bit.png", lambda p: Image.fromarray(
        (np.asarray(pic(8).convert("L"), np.uint16) * 257)).save(p))
    keep("palette-alpha.png", lambda p: pic(9).convert("P", palette=Image.Palette.ADAPTIVE).save(p, transparency=0))
    keep("animated.gif", lambda p: pic(10).save(p, save_all=True, append_images=[pic(11), pic(12)], duration=50))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    keep("exif-rotated.jpg", lambda p: pic(13, (200, 100)).save(p, format="JPEG", exif=exif))
    keep("lossless.webp", lambda p: pic(14).save(p, format="WEBP", lossless=True))
    keep("grey-alpha.png", lambda p: pic(15).convert("LA").save(p))
    keep("scan.tiff", lambda p: pic(16).save(p, format="TIFF"))
    keep("noextension", lambda p: pic(17).save(p, format="PNG"))
    keep("bitmap.bmp", lambda p: pic(18).save(p, format="BMP"))
    keep("photo.jp2", lambda p: pic(19).save(p, format="JPEG2000"))
    keep("scan.ppm", lambda p: pic(20).save(p, format="PPM"))
    keep("twin-a.png", lambda p: pic(21).save(p))  # the same pixels, two files and formats:
    keep("twin-b.webp", lambda p: pic(21).save(p, format="WEBP", lossless=True))  # each finds itself first
    keep("twin-c.png", lambda p: pic(21).save(p))  # and byte-identical to twin-a

    bad: dict[Path, str] = {}

    def refuse(name: str, data: bytes | None, kind: str) -> None:
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        bad[path] = kind

    jpeg = io.BytesIO()
    pic(30).save(jpeg, format="JPEG")
    refuse("truncated.jpg", jpeg.getvalue()[: len(jpeg.getvalue()) // 3], "truncated")
    refuse("empty.png", b"", "not an image")
    refuse("notes.jpg", b"just some text, not a picture\n" * 10, "not an image")
    refuse("page.html", b"<!doctype html><html><body><img src=x></body></html>", "not an image")
    refuse("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "not an image")
    refuse("bomb.png", png_bomb(30000, 30000), "too large")
    refuse("bomb.gif", gif_bomb(), "too large")
    refuse("bomb.tiff", tiff_bomb(), "too large")
    refuse("bomb.webp", webp_bomb(), "")
    refuse("ztxt-bomb.png", ztxt_bomb(pic(31)), "")
    os.symlink("loop", folder / "loop")
    refuse("loop", None, "symbolic link loop")
    os.symlink(folder / "nowhere.jpg", folder / "dangling.jpg")
    refuse("dangling.jpg", None, "broken symbolic link")
    os.mkfifo(folder / "pipe.jpg")
    refuse("pipe.jpg", None, "FIFO")
    (folder / "sub").mkdir()
    os.symlink(folder / "sub", folder / "linked-folder")
    refuse("linked-folder", None, "symbolic link to a folder")
    return good, bad


def selfsim(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selfsim.cli.main", *args], capture_output=True,
                          text=True, errors="surrogateescape", timeout=timeout)


def test_hostile_folder_is_indexed_and_searched_without_a_traceback(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    good, bad = build_corpus(corpus)
    assert len(good) + len(bad) >= 20
    index = str(corpus / "pics.idx")  # an index kept inside the picture folder

    out = selfsim("index", str(corpus), "--index", index)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert f"{len(good)} images" in out.stderr
    for path, kind in bad.items():  # each bad file named once, on a line of its own, with why
        lines = [line for line in out.stderr.splitlines() if line.startswith(f"skipped {path}:")]
        assert len(lines) == 1, (path, out.stderr)
        assert kind in lines[0]
    assert "pics.idx" not in out.stderr.replace(f"indexed {index}", "")  # its own files are not "skipped"

    again = selfsim("index", str(corpus), "--index", index, "-q")
    assert again.returncode == 0 and f"{len(good)} unchanged" in again.stderr

    found = selfsim("search", "--index", index, str(corpus), "--json", "-k", "1", timeout=300)
    assert found.returncode == 0, found.stderr
    assert "Traceback" not in found.stderr
    assert "pics.idx" not in found.stderr  # the index inside the query folder is not a query
    tops = {}
    for line in found.stdout.splitlines():
        result = json.loads(line)
        tops[os.path.realpath(result["query"])] = result["hits"][0]["path"]
    for path in good:
        assert tops[os.path.realpath(path)] == os.path.realpath(path), path

    table = selfsim("search", "--index", index, str(good[2]), str(good[3]), str(good[1]), "-k", "3")
    assert table.returncode == 0
    assert len([line for line in table.stdout.splitlines() if line.strip()]) == 3 * 4  # query + 3 hits each
    assert "new\\u000aline.png" in table.stdout  # a newline in a name cannot forge a line
    assert "\u202e" not in table.stdout and "bidi-\\u202egnp.exe" in table.stdout  # shown, not obeyed
    assert "caf\\xe9-latin1.jpg" in table.stdout
