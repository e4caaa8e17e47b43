"""Pack the default encoder's training pictures to travel to a GPU machine.

The pictures of ``scripts/train_default.py`` (the 11,004 of the distractor packages that
``benchmarks/distractors.py --seed 1`` never indexes), read as selfsim reads them
(transparency on white), shrunk to at most 384 px a side and saved as WebP (quality
85), in one ``.tgz`` of about 28 MB: small enough to travel with the repository.

    python scripts/gpu/make_bundle.py [--out .gpudata]
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from train_default import training_pictures  # noqa: E402

from selfsim.data.reader import read_image  # noqa: E402

SIDE = 384


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / ".gpudata")
    args = ap.parse_args()
    folder = args.out / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    pictures = training_pictures()
    for n, path in enumerate(pictures):
        image = read_image(path)
        image.thumbnail((SIDE, SIDE))
        image.save(folder / f"{n:05d}.webp", "WEBP", quality=85)
    with tarfile.open(args.out / "pictures.tgz", "w:gz") as tar:
        for f in sorted(folder.iterdir()):
            tar.add(f, arcname=f.name)
    print(f"{len(pictures)} pictures in {args.out / 'pictures.tgz'}")


if __name__ == "__main__":
    main()
