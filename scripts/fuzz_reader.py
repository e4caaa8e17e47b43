"""Fuzz `selfsim.data.reader.read_image` with mutated small image files.

Each example takes a small valid file (PNG, JPEG, GIF, WebP, TIFF, BMP in a few
variants), applies 1 to 6 random mutations (flip or set bytes, write an extreme
integer, truncate, insert, delete, splice in another file's header or a chunk of
it) and reads the result. The reader must return an RGB image within the pixel
cap or raise ImageReadError; anything else is a crash, and so is an example that
runs longer than --timeout seconds. Each crash is saved in --out as a reproducer.
`sniff_format` must return a known format name or None for every example.

    python scripts/fuzz_reader.py [--examples 20000] [--seed 0] [--out bench-out/fuzz-reader] 2>/dev/null

(libtiff prints a line on stderr for many broken TIFFs; the summary is on stdout.)
Exit status 1 when anything crashed.
"""

from __future__ import annotations

import argparse
import io
import random
import signal
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path
from types import FrameType

import numpy as np
from PIL import Image

from selfsim.data.files import sniff_format
from selfsim.data.reader import read_image
from selfsim.errors import ImageReadError

MAX_PIXELS = 1_000_000
KNOWN_FORMATS = {"JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "HEIF", "AVIF"}
INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def seed_files() -> dict[str, bytes]:
    """Small valid files, one per format and variant the reader handles differently."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, size=(12, 16, 4), dtype=np.uint8))
    grey16 = Image.fromarray(rng.integers(0, 65536, size=(12, 16), dtype=np.uint16))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate for display
    frames = [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 0, 255))]
    variants: dict[str, tuple[Image.Image, str, dict]] = {
        "rgb.png": (rgb, "PNG", {}),
        "palette.png": (rgb.convert("P"), "PNG", {"transparency": 0}),
        "rgba-interlaced.png": (rgba, "PNG", {"interlace": 1}),
        "grey16.png": (grey16, "PNG", {}),
        "baseline.jpg": (rgb, "JPEG", {"quality": 90}),
        "progressive-exif.jpg": (rgb, "JPEG", {"progressive": True, "exif": exif.tobytes()}),
        "cmyk.jpg": (rgb.convert("CMYK"), "JPEG", {}),
        "animated.gif": (frames[0], "GIF", {"save_all": True, "append_images": frames[1:]}),
        "lossy.webp": (rgb, "WEBP", {"quality": 80}),
        "lossless-alpha.webp": (rgba, "WEBP", {"lossless": True}),
        "animated.webp": (frames[0], "WEBP", {"save_all": True, "append_images": frames[1:]}),
        "raw.tif": (rgb, "TIFF", {}),
        "lzw.tif": (rgba, "TIFF", {"compression": "tiff_lzw"}),
        "grey16.tif": (grey16, "TIFF", {}),
        "rgb.bmp": (rgb, "BMP", {}),
        "palette.bmp": (rgb.convert("P"), "BMP", {}),
    }
    out = {}
    for name, (img, fmt, kwargs) in variants.items():
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kwargs)
        out[name] = buf.getvalue()
    return out


def mutate(data: bytes, seeds: dict[str, bytes], rng: random.Random) -> bytes:
    """1 to 6 random mutations; positions favour the first 64 bytes, where headers are."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        n = max(1, len(buf))
        pos = rng.randrange(min(n, 64)) if rng.random() < 0.5 else rng.randrange(n)
        op = rng.choice(("flip", "set", "int", "truncate", "insert", "delete", "splice-head", "splice-chunk"))
        if op == "flip" and buf:
            buf[pos % len(buf)] ^= 1 << rng.randrange(8)
        elif op == "set" and buf:
            buf[pos % len(buf)] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == "int":
            width = rng.choice((2, 4))
            value = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
            buf[pos : pos + width] = value.to_bytes(width, rng.choice(("little", "big")))
        elif op == "truncate":
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif op == "delete":
            del buf[pos : pos + rng.randint(1, 64)]
        elif op == "splice-head":  # another format's header on this body
            other = seeds[rng.choice(sorted(seeds))]
            k = rng.randint(2, 32)
            buf[:k] = other[:k]
        elif op == "splice-chunk":
            other = seeds[rng.choice(sorted(seeds))]
            start = rng.randrange(len(other))
            buf[pos:pos] = other[start : start + rng.randint(1, 256)]
    return bytes(buf)


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang("example ran past the time limit")


def reason_kind(reason: str) -> str:
    """'truncated file (image file is truncated)' -> 'truncated file'."""
    return reason.split(" (")[0].split(":")[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=20000, help="files to try (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per example (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/fuzz-reader"), help="where reproducers go")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = seed_files()
    names = sorted(seeds)
    rng = random.Random(args.seed)
    path = args.out / "example"
    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")  # Pillow warns about every corrupt EXIF block
    decoded = 0
    refused: Counter[str] = Counter()
    crashes: Counter[str] = Counter()
    first_crash: dict[str, tuple[str, str]] = {}
    slowest = (0.0, "")
    t0 = time.perf_counter()
    for _ in range(args.examples):
        seed = names[rng.randrange(len(names))]
        data = mutate(seeds[seed], seeds, rng)
        path.write_bytes(data)
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            fmt = sniff_format(path)
            if fmt is not None and fmt not in KNOWN_FORMATS:
                raise AssertionError(f"sniff_format returned {fmt!r}")
            img = read_image(path, max_pixels=MAX_PIXELS, min_side=rng.choice((None, 8)))
            if img.mode != "RGB" or img.width * img.height > MAX_PIXELS:
                raise AssertionError(f"read_image returned {img.mode} {img.size}")
            decoded += 1
        except ImageReadError as e:
            refused[reason_kind(e.reason)] += 1
        except Exception as e:
            kind = type(e).__name__
            crashes[kind] += 1
            if crashes[kind] <= 5:  # a few reproducers of each kind
                repro = args.out / f"crash-{kind}-{crashes[kind]}-from-{seed}"
                repro.write_bytes(data)
                first_crash.setdefault(kind, (str(repro), "".join(traceback.format_exception(e)[-3:])))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - start
        if took > slowest[0]:
            slowest = (took, seed)
    path.unlink(missing_ok=True)

    seconds = time.perf_counter() - t0
    print(f"examples        {args.examples} from {len(seeds)} seed files, seed {args.seed}, "
          f"{seconds:.0f}s ({seconds / max(1, args.examples) * 1000:.1f} ms each)")
    print(f"decoded         {decoded}")
    print(f"refused         {sum(refused.values())}")
    for reason, n in refused.most_common():
        print(f"  {n:>7}  {reason}")
    print(f"crashes         {sum(crashes.values())}")
    for kind, n in crashes.most_common():
        repro, trace = first_crash[kind]
        print(f"  {n:>7}  {kind}; reproducer {repro}\n{trace}")
    print(f"slowest example {slowest[0] * 1000:.0f} ms (from {slowest[1]})")
    raise SystemExit(1 if crashes else 0)


if __name__ == "__main__":
    main()
