"""Fashion-MNIST: train without labels, then use labels only to evaluate retrieval.

Writes the 60k training and 10k test images as PNG folders (Debian package
dataset-fashion-mnist) and runs what a user runs:

    selfsim train fmnist/train --out MODEL [options]        # no labels
    selfsim index fmnist/train --index IDX --model MODEL
    selfsim search --index IDX fmnist/test -k 20 --json --raw-scores --no-flip --center-crop 0 --corner-crops 0

Labels are used only here, to score the 20 hits of each test image: kNN accuracy
(k = 20, cosine, votes weighted by exp(cosine / 0.07) as in Wu et al. 2018 and
DINO; the plain majority vote is shown too) and mAP@R of test images against
training images (R = class size, from the same model's embeddings in-process).
Raw pixels (mean-centred, cosine) and the untrained starting point are in the
same table.

    python benchmarks/fashion_mnist.py -- --init default --input-size 64 --feature-level 3 --method vicreg
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from selfsim.data.samples import fashion_mnist
from selfsim.models import load_encoder
from selfsim.models.whitening import Whitening
from selfsim.ssl.features import pooled_features

K, T = 20, 0.07


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_pngs(images: np.ndarray, folder: Path) -> list[Path]:
    files = [folder / f"{i:05d}.png" for i in range(len(images))]
    if not folder.exists():
        tmp = folder.with_name(folder.name + ".part")
        tmp.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            Image.fromarray(img, "L").save(tmp / f"{i:05d}.png")
        tmp.rename(folder)
    return files


def vote(labels: np.ndarray, sims: np.ndarray, n_classes: int = 10) -> tuple[int, int]:
    """(majority class, similarity-weighted class) of one query's k neighbours."""
    majority = int(np.bincount(labels, minlength=n_classes).argmax())
    weighted = int(np.bincount(labels, weights=np.exp(sims / T), minlength=n_classes).argmax())
    return majority, weighted


def knn_from_vectors(xq: np.ndarray, xb: np.ndarray, yq: np.ndarray, yb: np.ndarray) -> tuple[float, float, float]:
    """(weighted kNN accuracy, majority kNN accuracy, mAP@R) by cosine."""
    xq = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    xb = xb / np.linalg.norm(xb, axis=1, keepdims=True)
    counts = np.bincount(yb)
    maj = wt = 0
    aps = []
    for s in range(0, len(xq), 500):
        S = xq[s : s + 500] @ xb.T
        for row, y in zip(S, yq[s : s + 500]):
            R = counts[y]
            top = np.argpartition(-row, R)[:R]
            top = top[np.argsort(-row[top])]
            m, w = vote(yb[top[:K]], row[top[:K]])
            maj += m == y
            wt += w == y
            rel = yb[top] == y
            aps.append(float((np.cumsum(rel) / np.arange(1, R + 1))[rel].sum() / R))
    return wt / len(xq), maj / len(xq), float(np.mean(aps))


def knn_from_search(lines: list[str], yq: np.ndarray, yb: np.ndarray) -> tuple[float, float, int]:
    """(weighted, majority) kNN accuracy from `selfsim search --json` output."""
    maj = wt = 0
    for line in lines:
        r = json.loads(line)
        q = int(Path(r["query"]).stem)
        labels = np.array([yb[int(Path(h["path"]).stem)] for h in r["hits"][:K]])
        sims = np.array([h["score"] for h in r["hits"][:K]])
        m, w = vote(labels, sims)
        maj += m == yq[q]
        wt += w == yq[q]
    return wt / len(lines), maj / len(lines), len(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/fmnist"))
    ap.add_argument("--no-start-row", action="store_true", help="skip embedding with the untrained starting model")
    ap.add_argument("train_args", nargs=argparse.REMAINDER, help="passed to `selfsim train` after --")
    args = ap.parse_args()
    src = fashion_mnist()
    xtr, ytr = read_idx(src / "train-images-idx3-ubyte.gz"), read_idx(src / "train-labels-idx1-ubyte.gz")
    xte, yte = read_idx(src / "t10k-images-idx3-ubyte.gz"), read_idx(src / "t10k-labels-idx1-ubyte.gz")
    train_files = write_pngs(xtr, args.out / "train")
    test_files = write_pngs(xte, args.out / "test")
    rows = []
    raw_tr = xtr.reshape(len(xtr), -1).astype(np.float32)
    raw_te = xte.reshape(len(xte), -1).astype(np.float32)
    mean = raw_tr.mean(0)
    rows.append(("raw pixels (centred, cosine)", *knn_from_vectors(raw_te - mean, raw_tr - mean, yte, ytr), "-"))

    model, idx = args.out / "model", args.out / "index"
    extra = [a for a in args.train_args if a != "--"]
    train_cmd = ["selfsim", "train", str(args.out / "train"), "--out", str(model), "--overwrite", "-q", *extra]
    t0 = time.perf_counter()
    subprocess.run(train_cmd, check=True)
    minutes = (time.perf_counter() - t0) / 60
    enc = load_encoder(str(model), device="cpu")
    info = enc.config.info

    def embed(e, x: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
        return e.embed([Image.fromarray(i, "L").convert("RGB") for i in x], batch_size=512)

    if not args.no_start_row:  # the same architecture before training: what training added
        from selfsim.ssl.train import TrainConfig, _encoder

        start_cfg = {k: v for k, v in info["train_config"].items() if k not in ("whiten", "copy_edits")}
        start = _encoder(TrainConfig(**start_cfg)).eval()
        ptr, pte = (pooled_features(start, f, batch_size=512, progress=False) for f in (train_files, test_files))
        rows.append((f"untrained start ({info['init']}, {enc.config.input_size} px)",
                     *knn_from_vectors(pte, ptr, yte, ytr), "-"))
        if enc.config.whitening is not None:  # what the whitening alone adds, with no training
            w = Whitening.fit(ptr)
            with torch.no_grad():
                wtr, wte = (w(torch.from_numpy(p)).numpy() for p in (ptr, pte))
            rows.append(("untrained start + whitening fitted on the training images",
                         *knn_from_vectors(wte, wtr, yte, ytr), "-"))
    _, _, map_r = knn_from_vectors(embed(enc, xte), embed(enc, xtr), yte, ytr)

    subprocess.run(["selfsim", "index", str(args.out / "train"), "--index", str(idx), "--model", str(model),
                    "--rebuild", "-q"], check=True)
    search_cmd = ["selfsim", "search", "--index", str(idx), str(args.out / "test"), "-k", str(K), "--json",
                  "--raw-scores", "--no-flip", "--center-crop", "0", "--corner-crops", "0", "--no-phash", "-q"]
    out = subprocess.run(search_cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    wt, maj, n = knn_from_search(out, yte, ytr)
    assert n == len(xte), f"search answered {n} of {len(xte)} queries"
    rows.append((f"selfsim train {' '.join(extra)}", wt, maj, map_r, f"{minutes:.1f} min"))

    print(f"train:  {' '.join(train_cmd)}\nsearch: {' '.join(search_cmd)}\n")
    print(f"label-free monitor during training: {info.get('quality')}\n")
    print("| features | kNN acc. (k=20, weighted) | kNN acc. (majority) | mAP@R | training (2-core CPU) |")
    print("|---|---:|---:|---:|---:|")
    for name, w, m, mr, t in rows:
        print(f"| {name} | {w:.4f} | {m:.4f} | {mr:.4f} | {t} |")


if __name__ == "__main__":
    main()
