"""Fit the calibration shipped with selfsim (src/selfsim/match/default_calibration.json).

Pictures: every distinct photo of Debian's wallpaper packages (see
selfsim.data.samples.photo_files), downscaled to 1024 px. Two edited copies of each
are the positive pairs, four times as many pairs of different pictures the negatives.

    python benchmarks/fit_calibration.py [--write]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from selfsim.data.reader import read_image
from selfsim.data.samples import photo_files
from selfsim.match import Matcher
from selfsim.match.fit import calibrate

OUT = Path(__file__).parents[1] / "src" / "selfsim" / "match" / "default_calibration.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"write {OUT}")
    args = ap.parse_args()
    images = []
    for f in photo_files():
        img = read_image(f, min_side=1024)
        img.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        images.append(img)
    cal = calibrate(images, Matcher(), source="Debian wallpaper photos (benchmarks/fit_calibration.py)")
    print(cal)
    if args.write:
        cal.save(OUT)
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
