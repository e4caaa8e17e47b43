"""How the default encoder's embeddings spread over their 1280 directions, for
benchmarks/vector_store.py to make synthetic vectors of the same shape.

Embeds random crops (15-100 % of the side, half of them mirrored) of every distinct
sample photo and artwork and every picture of opencv-doc (photos, drawings, charts,
text), and writes the eigenvalues of their covariance and the length of
their mean to ``benchmarks/data/embedding_spectrum.json``. It prints how much of the
variance the leading directions hold (which decides how far vectors can be reduced).

    python benchmarks/embedding_spectrum.py [--crops 8000]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from selfsim.data.samples import opencv_data, photo_files
from selfsim.models.loading import load_embedder

OUT = Path(__file__).parent / "data" / "embedding_spectrum.json"


def crops(files: list[Path], n: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n):
        with Image.open(rng.choice(files)) as im:
            im.draft("RGB", (800, 800))
            im = im.convert("RGB")
        if max(im.size) > 1600:
            im.thumbnail((1600, 1600))
        w, h = im.size
        s = rng.uniform(0.15, 1.0)
        cw = max(32, int(w * s))
        ch = min(h, max(32, int(h * s * rng.uniform(0.6, 1.4))))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        im = im.crop((x, y, x + cw, y + ch))
        yield im.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else im


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crops", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    files = photo_files() + sorted(p for p in opencv_data().rglob("*") if p.suffix.lower() in (".jpg", ".png")
                                   and p.stat().st_size > 4000)
    embedder = load_embedder()
    batch, out = [], []
    for im in tqdm(crops(files, args.crops, args.seed), total=args.crops, desc="embedding crops"):
        batch.append(im)
        if len(batch) == 64:
            out.append(embedder.embed(batch))
            batch = []
    if batch:
        out.append(embedder.embed(batch))
    x = np.concatenate(out).astype(np.float64)
    mean = x.mean(axis=0)
    eigenvalues = np.linalg.eigvalsh(np.cov((x - mean).T))[::-1].clip(min=0)
    share = np.cumsum(eigenvalues) / eigenvalues.sum()
    print(f"{len(x)} crops of {len(files)} pictures; mean length {np.linalg.norm(mean):.4f}")
    print("| directions | share of the variance |\n|---:|---:|")
    for r in (16, 64, 128, 256, 512):
        print(f"| {r} | {share[r - 1]:.3f} |")
    OUT.write_text(json.dumps({
        "source": f"benchmarks/embedding_spectrum.py --crops {args.crops} --seed {args.seed}",
        "model": embedder.config.name, "crops": len(x), "mean_length": round(float(np.linalg.norm(mean)), 5),
        "eigenvalues": [float(f"{v:.4g}") for v in eigenvalues],
    }) + "\n")
    print(f"written: {OUT}")


if __name__ == "__main__":
    main()
