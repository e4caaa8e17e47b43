"""Fashion-MNIST: train without labels, then use labels only to evaluate retrieval.

Writes the 60k training and 10k test images as PNG folders (Debian package
dataset-fashion-mnist), trains with `selfsim train` on the training folder (no
labels), embeds both splits with the trained model, and reports kNN accuracy
(k = 20, cosine, majority vote) and mAP@R of test images against training images,
beside raw pixels (mean-centred, cosine) in the same table.

    python benchmarks/fashion_mnist.py -- [selfsim train options, e.g. --method vicreg --epochs 20]
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import time
from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.samples import fashion_mnist
from selfsim.models import load_encoder


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_pngs(images: np.ndarray, folder: Path) -> list[Path]:
    files = [folder / f"{i:05d}.png" for i in range(len(images))]
    if not folder.exists():
        folder.mkdir(parents=True)
        for f, img in zip(files, images):
            Image.fromarray(img, "L").save(f)
    return files


def knn_and_map(xq: np.ndarray, xb: np.ndarray, yq: np.ndarray, yb: np.ndarray, k: int = 20) -> tuple[float, float]:
    """kNN accuracy (majority of k nearest by cosine) and mAP@R (R = class size in xb)."""
    xq = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    xb = xb / np.linalg.norm(xb, axis=1, keepdims=True)
    counts = np.bincount(yb)
    correct, aps = 0, []
    for s in range(0, len(xq), 500):
        S = xq[s : s + 500] @ xb.T
        for row, y in zip(S, yq[s : s + 500]):
            R = counts[y]
            top = np.argpartition(-row, R)[:R]
            top = top[np.argsort(-row[top])]
            votes = np.bincount(yb[top[:k]], minlength=len(counts))
            correct += int(votes.argmax() == y)
            rel = yb[top] == y
            aps.append(float((np.cumsum(rel) / np.arange(1, R + 1))[rel].sum() / R))
    return correct / len(xq), float(np.mean(aps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/fmnist"))
    ap.add_argument("train_args", nargs=argparse.REMAINDER, help="passed to `selfsim train` after --")
    args = ap.parse_args()
    src = fashion_mnist()
    xtr, ytr = read_idx(src / "train-images-idx3-ubyte.gz"), read_idx(src / "train-labels-idx1-ubyte.gz")
    xte, yte = read_idx(src / "t10k-images-idx3-ubyte.gz"), read_idx(src / "t10k-labels-idx1-ubyte.gz")
    write_pngs(xtr, args.out / "train")
    rows = []
    raw_tr = xtr.reshape(len(xtr), -1).astype(np.float32)
    raw_te = xte.reshape(len(xte), -1).astype(np.float32)
    mean = raw_tr.mean(0)
    rows.append(("raw pixels (centred, cosine)", *knn_and_map(raw_te - mean, raw_tr - mean, yte, ytr), "-"))

    model = args.out / "model"
    extra = [a for a in args.train_args if a != "--"]
    cmd = ["selfsim", "train", str(args.out / "train"), "--out", str(model), "-q", *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    minutes = (time.perf_counter() - t0) / 60
    enc = load_encoder(str(model), device="cpu")
    to_rgb = [Image.fromarray(x, "L").convert("RGB") for x in xtr]
    etr = enc.embed(to_rgb, batch_size=512)
    ete = enc.embed([Image.fromarray(x, "L").convert("RGB") for x in xte], batch_size=512)
    rows.append((f"selfsim train {' '.join(extra)}", *knn_and_map(ete, etr, yte, ytr), f"{minutes:.1f} min"))

    print(f"command: {' '.join(cmd)}\n")
    print("| features | kNN accuracy (k=20) | mAP@R | training time (2-core CPU) |")
    print("|---|---:|---:|---:|")
    for name, acc, m, t in rows:
        print(f"| {name} | {acc:.4f} | {m:.4f} | {t} |")


if __name__ == "__main__":
    main()
