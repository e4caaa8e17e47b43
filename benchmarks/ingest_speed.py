"""Ingest speed: images/second to index a folder of large pictures, selfsim vs pHash.

Two sets, each indexed into a fresh index as users run it (`selfsim index FOLDER
--index I`, Python start-up and model loading included), against
`imagehash.phash(Image.open(path))` for each file, in the same run:

- *photos*: every distinct picture of the Debian wallpaper packages of at least 2
  megapixels, saved as JPEG at full resolution (2 to 18 MP), as a photo library;
- *5120 x 2880* (``--large``): the Plasma wallpapers shipped at 5120 x 2880, each saved
  as PNG, as WebP (quality 90) and as JPEG (quality 90), one folder per format.

    python benchmarks/ingest_speed.py [--large] [--out bench-out/ingest]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

import imagehash
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.data.samples import fetch_package, photo_files

FORMATS = {"PNG": ".png", "WebP": ".webp", "JPEG": ".jpg"}


def photos(folder: Path) -> list[Path]:
    if not folder.exists():
        folder.mkdir(parents=True)
        for i, f in enumerate(photo_files()):
            img = read_image(f)
            if img.width * img.height >= 2_000_000:
                img.save(folder / f"{i:03d}-{f.stem}.jpg", quality=90)
    return sorted(folder.iterdir())


def large(folder: Path, fmt: str) -> list[Path]:
    target = folder / fmt.lower()
    if not target.exists():
        target.mkdir(parents=True)
        root = fetch_package("plasma-workspace-wallpapers")
        for i, f in enumerate(sorted(root.rglob("5120x2880.*"))):
            img = read_image(f)
            img.save(target / f"{i:02d}-{f.parts[-4]}{FORMATS[fmt]}", quality=90)
    return sorted(target.iterdir())


def measure(name: str, folder: Path, files: list[Path], out: Path) -> list[tuple[str, float, int]]:
    index = out / "index"
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    res = subprocess.run(["selfsim", "index", str(folder), "--index", str(index), "-q"],
                         check=True, capture_output=True, text=True)
    whole = time.perf_counter() - t0
    inner = float(re.search(r" in ([0-9.]+)s with model", res.stderr).group(1))  # type: ignore[union-attr]
    t0 = time.perf_counter()
    for f in files:
        imagehash.phash(Image.open(f))
    phash = time.perf_counter() - t0
    return [(f"{name}: selfsim index, whole command (start-up included)", whole, len(files)),
            (f"{name}: selfsim index, as it reports (model load, decode, hash, embed, write)", inner, len(files)),
            (f"{name}: pHash, imagehash.phash(Image.open(f))", phash, len(files))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/ingest"))
    ap.add_argument("--large", action="store_true", help="also the 5120 x 2880 PNG, WebP and JPEG sets")
    args = ap.parse_args()
    sets = [("photos (JPEG)", args.out / "photos", photos(args.out / "photos"))]
    if args.large:
        sets += [(f"5120x2880 {fmt}", args.out / "large" / fmt.lower(), large(args.out / "large", fmt))
                 for fmt in FORMATS]
    print(f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, "
          f"onnxruntime {version('onnxruntime')}, Pillow {version('pillow')}")
    for name, _, files in sets:
        mp = sum(Image.open(f).width * Image.open(f).height for f in files) / len(files) / 1e6
        print(f"{name}: {len(files)} files, {mp:.1f} MP on average")
    print("\n| set: method | seconds | images/s | / pHash |")
    print("|---|---:|---:|---:|")
    for name, folder, files in sets:
        rows = measure(name, folder, files, args.out)
        phash_rate = rows[-1][2] / rows[-1][1]
        for label, secs, n in rows:
            print(f"| {label} | {secs:.1f} | {n / secs:.1f} | {n / secs / phash_rate:.2f} |", flush=True)


if __name__ == "__main__":
    main()
