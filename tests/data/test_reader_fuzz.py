"""Mutated image files: `read_image` returns a bounded RGB image or raises ImageReadError.

Hypothesis mutates small valid PNG, JPEG, GIF, WebP, TIFF and BMP files (flips and
sets bytes, writes extreme integers into headers, truncates, inserts, deletes,
splices in another format's header). Nothing else may escape the reader, and no
file may take long. ``scripts/fuzz_reader.py`` runs the same idea for longer.
"""

from __future__ import annotations

import io
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from selfsim.data.files import sniff_format
from selfsim.data.reader import read_image
from selfsim.errors import ImageReadError

MAX_PIXELS = 1_000_000
SECONDS_PER_FILE = 5
KNOWN_FORMATS = {"JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "HEIF", "AVIF", "JPEG2000", "PPM"}
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


def _seed_files() -> dict[str, tuple[bytes, str]]:
    """Small valid files and the format each announces."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, size=(12, 16, 4), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 0, 255))]
    variants = {
        "rgb.png": (rgb, "PNG", {}),
        "palette.png": (rgb.convert("P"), "PNG", {"transparency": 0}),
        "rgba-interlaced.png": (rgba, "PNG", {"interlace": 1}),
        "baseline.jpg": (rgb, "JPEG", {}),
        "progressive-exif.jpg": (rgb, "JPEG", {"progressive": True, "exif": exif.tobytes()}),
        "animated.gif": (frames[0], "GIF", {"save_all": True, "append_images": frames[1:]}),
        "lossy.webp": (rgb, "WEBP", {}),
        "lossless-alpha.webp": (rgba, "WEBP", {"lossless": True}),
        "lzw.tif": (rgba, "TIFF", {"compression": "tiff_lzw"}),
        "raw.tif": (rgb, "TIFF", {}),
        "rgb.bmp": (rgb, "BMP", {}),
    }
    out = {}
    for name, (img, fmt, kwargs) in variants.items():
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kwargs)
        out[name] = (buf.getvalue(), fmt)
    return out


SEEDS = _seed_files()
NAMES = sorted(SEEDS)

# Positions favour the first 64 bytes, where the headers are; they wrap around the file.
_pos = st.integers(0, 63) | st.integers(0, 20_000)
_mutation = st.one_of(
    st.tuples(st.just("flip"), _pos, st.integers(0, 7)),
    st.tuples(st.just("set"), _pos, st.sampled_from([0, 0x7F, 0x80, 0xFF])),
    st.tuples(st.just("int"), _pos, st.sampled_from(INTERESTING), st.sampled_from([2, 4]), st.booleans()),
    st.tuples(st.just("truncate"), _pos),
    st.tuples(st.just("insert"), _pos, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _pos, st.integers(1, 64)),
    st.tuples(st.just("splice"), st.sampled_from(NAMES), st.integers(2, 32)),
)


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    buf = bytearray(data)
    for kind, *args in mutations:
        pos = args[0] % max(1, len(buf)) if kind != "splice" else 0
        if kind == "flip" and buf:
            buf[pos] ^= 1 << args[1]
        elif kind == "set" and buf:
            buf[pos] = args[1]
        elif kind == "int":
            value, width, little = args[1:]
            value &= (1 << (8 * width)) - 1
            buf[pos : pos + width] = value.to_bytes(width, "little" if little else "big")
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = args[1]
        elif kind == "delete":
            del buf[pos : pos + args[1]]
        elif kind == "splice":  # another format's header on this body
            other, k = SEEDS[args[0]][0], args[1]
            buf[:k] = other[:k]
    return bytes(buf)


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"reading one small file took over {SECONDS_PER_FILE}s")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One file that each example overwrites, and a time limit on every example."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    yield tmp_path_factory.mktemp("fuzz") / "example"
    signal.signal(signal.SIGALRM, previous)


def check_read(path: Path, data: bytes, min_side: int | None = None) -> None:
    """Either a bounded RGB image or ImageReadError; any other exception fails."""
    path.write_bytes(data)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_FILE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF blocks
            img = read_image(path, min_side=min_side, max_pixels=MAX_PIXELS)
    except ImageReadError as e:
        assert e.reason
        return
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert img.mode == "RGB"
    assert 0 < img.width * img.height <= MAX_PIXELS


@pytest.mark.parametrize("name", NAMES)
def test_seed_files_are_valid(scratch: Path, name: str) -> None:
    data, fmt = SEEDS[name]
    scratch.write_bytes(data)
    assert sniff_format(scratch) == fmt
    expected = (12, 16) if "exif" in name else (16, 12)  # EXIF orientation 6 turns it upright
    assert read_image(scratch).size == expected


@settings(max_examples=800, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), mutations=st.lists(_mutation, min_size=1, max_size=6),
       min_side=st.sampled_from([None, 8]))
def test_mutated_files_decode_or_raise_image_read_error(
    scratch: Path, name: str, mutations: list[tuple], min_side: int | None
) -> None:
    check_read(scratch, mutate(SEEDS[name][0], mutations), min_side)


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.binary(max_size=64) | st.builds(mutate, st.sampled_from([d for d, _ in SEEDS.values()]),
                                                st.lists(_mutation, min_size=1, max_size=3)))
def test_sniff_format_names_a_known_format_or_none(scratch: Path, data: bytes) -> None:
    scratch.write_bytes(data)
    assert sniff_format(scratch) in KNOWN_FORMATS | {None}


# -- Regressions found by fuzzing ---------------------------------------------------
# Found by fuzzing (fixed): a two-frame GIF (16x12, as Pillow 11 writes it) cut off
# early in its second frame makes Pillow's `is_animated` (which seeks to frame 1)
# raise IndexError or struct.error; read_image let both escape instead of raising
# ImageReadError, so one truncated animated GIF aborted a whole `selfsim index` run.
TWO_FRAME_GIF = (
    b"GIF87a\x10\x00\x0c\x00\x81\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00,\x00"
    b"\x00\x00\x00\x10\x00\x0c\x00\x00\x08\x19\x00\x01\x08\x1cH\xb0\xa0\xc1\x83\x08\x13*\\\xc8"
    b"\xb0\xa1\xc3\x87\x10#J\x9c(0 \x00!\xf9\x04\x01\x00\x00\x01\x00,\x00\x00\x00\x00\x10\x00"
    b"\x0c\x00\x81\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x19\x00\x01\x08\x1cH\xb0"
    b"\xa0\xc1\x83\x08\x13*\\\xc8\xb0\xa1\xc3\x87\x10#J\x9c(0 \x00;"
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(TWO_FRAME_GIF[:64], id="gif-cut-at-64-IndexError"),
        pytest.param(TWO_FRAME_GIF[:72], id="gif-cut-at-72-struct.error"),
        pytest.param(  # minimised from the fuzzer's first find: IndexError
            b"GIF87a\x00\x00\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00,"
            b"\x00\x00\x00\x00\x00\x00\x00\x00",
            id="gif-minimal-IndexError",
        ),
    ],
)
def test_regression_truncated_animated_gif(scratch: Path, data: bytes) -> None:
    check_read(scratch, data)


def test_two_frame_gif_itself_reads(scratch: Path) -> None:
    check_read(scratch, TWO_FRAME_GIF)
    assert read_image(scratch).getpixel((0, 0)) == (255, 0, 0)
