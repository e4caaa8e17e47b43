from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.errors import ImageReadError


def _rgb(w: int = 64, h: int = 48) -> Image.Image:
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    arr[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    return Image.fromarray(arr)


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tif"), ("GIF", "gif")])
def test_allowed_formats_read_as_rgb(tmp_path: Path, fmt: str, ext: str) -> None:
    path = tmp_path / f"x.{ext}"
    _rgb().save(path, format=fmt)
    img = read_image(path)
    assert img.mode == "RGB" and img.size == (64, 48)


def test_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    r, g, b = read_image(tmp_path / "a.gif").getpixel((5, 5))
    assert r > 200 and b < 50


def test_exif_orientation_applied(tmp_path: Path) -> None:
    img = _rgb(60, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW for display
    img.save(tmp_path / "o.jpg", exif=exif.tobytes())
    out = read_image(tmp_path / "o.jpg")
    assert out.size == (30, 60)


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    # A valid PNG header announcing 50000 x 50000 pixels with almost no data.
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(data)
    with pytest.raises(ImageReadError, match="too large"):
        read_image(tmp_path / "bomb.png")


def test_pixel_cap_is_configurable(tmp_path: Path) -> None:
    _rgb(100, 100).save(tmp_path / "a.png")
    with pytest.raises(ImageReadError, match="exceeds the cap of 5,000"):
        read_image(tmp_path / "a.png", max_pixels=5000)


def test_cmyk_16bit_palette_alpha_converted_deterministically(tmp_path: Path) -> None:
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
    assert read_image(tmp_path / "c.jpg").getpixel((4, 4))[0] > 200  # red

    arr16 = np.full((8, 8), 65535 // 2, dtype=np.uint16)
    Image.fromarray(arr16).save(tmp_path / "g16.png")
    assert read_image(tmp_path / "g16.png").getpixel((0, 0)) == (127, 127, 127)

    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    rgba.save(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png").getpixel((0, 0)) == (255, 255, 255)

    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").getpixel((0, 0)) == (0, 255, 0)
    assert read_image(tmp_path / "p.png").tobytes() == read_image(tmp_path / "p.png").tobytes()


def test_jpeg_draft_decodes_at_reduced_size(tmp_path: Path) -> None:
    _rgb(2000, 1500).save(tmp_path / "big.jpg", quality=90)
    small = read_image(tmp_path / "big.jpg", min_side=224)
    assert min(small.size) >= 224 and small.size[0] <= 500  # 1/4 scale: 500 x 375
    assert read_image(tmp_path / "big.jpg").size == (2000, 1500)


@pytest.mark.parametrize(
    "content,reason",
    [(b"hello, not a picture", "not an image"), (None, "truncated")],
)
def test_bad_files_give_reasons(tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "bad.jpg"
    if content is None:
        _rgb(200, 200).save(tmp_path / "ok.jpg")
        content = (tmp_path / "ok.jpg").read_bytes()[:800]
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason):
        read_image(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "nope.png")


def test_disallowed_format_refused(tmp_path: Path) -> None:
    _rgb().save(tmp_path / "x.ppm")
    with pytest.raises(ImageReadError, match="supported format"):
        read_image(tmp_path / "x.ppm")
