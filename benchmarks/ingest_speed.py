"""Ingest speed: images/second to index a folder of large photos, selfsim vs pHash.

The folder holds every distinct picture of the Debian wallpaper packages, saved as
JPEG at full resolution (2 to 18 megapixels), as a photo library would be.
selfsim runs as users run it (`selfsim index FOLDER --index I`, a fresh index,
model loading included); pHash is `imagehash.phash(Image.open(path))` per file.

    python benchmarks/ingest_speed.py [--out bench-out/ingest]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import time
from pathlib import Path

import imagehash
import torch
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.data.samples import photo_files


def build(folder: Path) -> list[Path]:
    if not folder.exists():
        folder.mkdir(parents=True)
        for i, f in enumerate(photo_files()):
            img = read_image(f)
            if img.width * img.height >= 2_000_000:
                img.save(folder / f"{i:03d}-{f.stem}.jpg", quality=90)
    return sorted(folder.iterdir())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/ingest"))
    args = ap.parse_args()
    files = build(args.out / "photos")
    mp = sum(Image.open(f).width * Image.open(f).height for f in files) / len(files) / 1e6
    print(f"{len(files)} JPEG photos, {mp:.1f} MP on average; {os.cpu_count()} CPU cores, "
          f"torch {torch.__version__}, {platform.processor() or platform.machine()}\n")

    rows = []
    index = args.out / "index"
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    res = subprocess.run(
        ["selfsim", "index", str(args.out / "photos"), "--index", str(index), "-q"],
        check=True, capture_output=True, text=True,
    )
    t = time.perf_counter() - t0
    inner = float(re.search(r" in ([0-9.]+)s with model", res.stderr).group(1))  # type: ignore[union-attr]
    rows.append(("selfsim index: whole command, Python start-up and imports included", t))
    rows.append(("selfsim index: model load + decode + hash + embed + write (as it reports)", inner))

    t0 = time.perf_counter()
    for f in files:
        imagehash.phash(Image.open(f))
    rows.append(("pHash: imagehash.phash(Image.open(f))", time.perf_counter() - t0))

    print("| method | seconds | images/s |")
    print("|---|---:|---:|")
    for name, secs in rows:
        print(f"| {name} | {secs:.1f} | {len(files) / secs:.1f} |")


if __name__ == "__main__":
    main()
