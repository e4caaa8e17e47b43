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


def _noise(w: int = 40, h: int = 30, seed: int = 0) -> np.ndarray:
    """Random RGB pixels: any swap, shift, flip or lossy step in decoding shows."""
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt,ext,options", [
    ("PNG", "png", {}), ("BMP", "bmp", {}), ("TIFF", "tif", {}), ("WEBP", "webp", {"lossless": True}),
])
def test_lossless_formats_decode_to_the_saved_pixels(tmp_path: Path, fmt: str, ext: str, options: dict) -> None:
    arr = _noise()
    Image.fromarray(arr).save(tmp_path / f"x.{ext}", format=fmt, **options)
    assert np.array_equal(np.asarray(read_image(tmp_path / f"x.{ext}")), arr)


def test_jpeg_decodes_as_pillow_decodes_it(tmp_path: Path) -> None:
    Image.fromarray(_noise()).save(tmp_path / "x.jpg", quality=90)
    with Image.open(tmp_path / "x.jpg") as ref:
        expected = np.asarray(ref.convert("RGB"))
    assert np.array_equal(np.asarray(read_image(tmp_path / "x.jpg")), expected)


# EXIF orientation (tag 0x0112) -> what the stored pixels must undergo to display upright.
_ORIENTED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],                     # mirrored left-right
    3: lambda a: a[::-1, ::-1],                  # rotated 180
    4: lambda a: a[::-1],                        # mirrored top-bottom
    5: lambda a: a.transpose(1, 0, 2),           # mirrored along the main diagonal
    6: lambda a: np.rot90(a, -1),                # rotated 90 clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # mirrored along the other diagonal
    8: lambda a: np.rot90(a, 1),                 # rotated 90 counter-clockwise
}


@pytest.mark.parametrize("orientation", sorted(_ORIENTED))
def test_exif_orientation_gives_the_upright_pixels(tmp_path: Path, orientation: int) -> None:
    arr = _noise(40, 30)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(arr).save(tmp_path / "o.png", exif=exif.tobytes())  # PNG: lossless, so exact
    assert np.array_equal(np.asarray(read_image(tmp_path / "o.png")), _ORIENTED[orientation](arr))


def test_16_bit_grey_keeps_the_top_8_bits(tmp_path: Path) -> None:
    arr16 = np.array([[0, 255, 256, 511], [12345, 32767, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(arr16).save(tmp_path / "g16.png")
    expected = np.array([[0, 0, 1, 1], [48, 127, 128, 255]], dtype=np.uint8)  # value // 256, by hand
    assert np.array_equal(np.asarray(read_image(tmp_path / "g16.png")), np.repeat(expected[..., None], 3, axis=2))


def test_alpha_is_composited_onto_white(tmp_path: Path) -> None:
    rgba = np.array([[[255, 0, 0, 0], [255, 0, 0, 255], [255, 0, 0, 128], [0, 0, 200, 64]]], dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    # c * a + 255 * (1 - a), a in [0, 1]
    expected = np.array([[[255, 255, 255], [255, 0, 0], [255, 127, 127], [191, 191, 241]]])
    out = np.asarray(read_image(tmp_path / "a.png")).astype(int)
    assert np.abs(out - expected).max() <= 1  # Pillow rounds the blend its own way

    la = np.array([[[0, 0], [0, 255], [100, 128]]], dtype=np.uint8)  # grey + alpha
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    out = np.asarray(read_image(tmp_path / "la.png")).astype(int)
    assert np.abs(out - np.array([[[255] * 3, [0] * 3, [177] * 3]])).max() <= 1


def test_keep_alpha_returns_the_transparency_itself(tmp_path: Path) -> None:
    rgba = np.array([[[255, 0, 0, 0], [255, 0, 0, 255], [0, 0, 200, 64]]], dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png", keep_alpha=True)
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out), rgba)
    pal = Image.fromarray(np.array([[0, 1]], dtype=np.uint8), "P")
    pal.putpalette([9, 9, 9, 0, 255, 0] + [0] * 762)
    pal.save(tmp_path / "p.png", transparency=0)
    assert np.array_equal(np.asarray(read_image(tmp_path / "p.png", keep_alpha=True)),
                          np.array([[[9, 9, 9, 0], [0, 255, 0, 255]]], dtype=np.uint8))
    Image.fromarray(rgba[..., :3]).save(tmp_path / "rgb.png")
    assert read_image(tmp_path / "rgb.png", keep_alpha=True).mode == "RGB"  # nothing to keep


def test_palette_with_a_transparent_entry(tmp_path: Path) -> None:
    idx = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    pal = Image.fromarray(idx, "P")
    pal.putpalette([9, 9, 9, 0, 255, 0, 10, 20, 30] + [0] * 759)
    pal.save(tmp_path / "p.png", transparency=0)  # entry 0 is transparent: white, not (9, 9, 9)
    pal.save(tmp_path / "opaque.png")
    green, blue, white, grey = [0, 255, 0], [10, 20, 30], [255, 255, 255], [9, 9, 9]
    assert np.array_equal(np.asarray(read_image(tmp_path / "p.png")),
                          np.array([[white, green, blue], [blue, green, white]], dtype=np.uint8))
    assert np.array_equal(np.asarray(read_image(tmp_path / "opaque.png")),
                          np.array([[grey, green, blue], [blue, green, grey]], dtype=np.uint8))


def test_cmyk_jpeg_reads_as_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # no cyan, full magenta and yellow
    r, g, b = read_image(tmp_path / "c.jpg").getpixel((4, 4))
    assert r > 240 and g < 15 and b < 15  # red, give or take JPEG


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
    _rgb().save(tmp_path / "x.pcx")
    with pytest.raises(ImageReadError, match="supported format"):
        read_image(tmp_path / "x.pcx")
