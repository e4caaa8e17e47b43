"""Embedding speed on the CPU: the default encoder in PyTorch vs its ONNX export in onnxruntime.

Both embed the same decoded real photos (the copy-detection references, resized by
each encoder's own preprocessing) in batches of 32, after one warm-up batch; the
export is made with `selfsim export default --onnx`. Agreement is the smallest
cosine between the two embeddings of a photo.

    python benchmarks/onnx_speed.py [--images 256]
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from selfsim.data.reader import read_image
from selfsim.data.samples import photo_files
from selfsim.models import load_encoder
from selfsim.models.onnx import OnnxEncoder


def rate(embed, images: list) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    embed(images[:32])  # warm-up
    t0 = time.perf_counter()
    out = embed(images)
    return len(images) / (time.perf_counter() - t0), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--out", type=Path, default=Path("bench-out/onnx"))
    args = ap.parse_args()
    onnx = args.out / "default.onnx"
    if not onnx.is_file():
        subprocess.run(["selfsim", "export", "default", "--onnx", "--out", str(onnx)], check=True)
    files = photo_files()
    photos = [read_image(files[i % len(files)], min_side=224) for i in range(args.images)]
    print(f"{len(photos)} photos ({len(files)} distinct), CPU, {torch.get_num_threads()} threads\n")
    t0 = time.perf_counter()
    torch_enc = load_encoder("default", device="cpu")
    t1 = time.perf_counter()
    onnx_enc = OnnxEncoder(onnx)
    t2 = time.perf_counter()
    pt, a = rate(lambda ims: torch_enc.embed(ims, batch_size=32), photos)
    ox, b = rate(lambda ims: onnx_enc.embed(ims, batch_size=32), photos)
    cos = float((a * b).sum(1).min())
    print("| runtime | model load (s) | images/s | smallest cosine to PyTorch |")
    print("|---|---:|---:|---:|")
    print(f"| PyTorch (selfsim default encoder) | {t1 - t0:.2f} | {pt:.1f} | - |")
    print(f"| onnxruntime (selfsim export --onnx) | {t2 - t1:.2f} | {ox:.1f} | {cos:.6f} |")


if __name__ == "__main__":
    main()
