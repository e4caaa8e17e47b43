"""Homography accuracy and false matches on real images: SIFT vs ORB vs AKAZE.

Positive pairs: OpenCV's graf1.png -> graf3.png with its ground truth H1to3p.xml,
and every distinct textured Debian wallpaper photo and OpenCV sample photo (1024 px) warped by a random homography
(corners moved by up to 15 %, rotation up to 20 degrees, scale 0.7-1.1) with
brightness, contrast, blur and noise changes. Negative pairs: two different photos.

Reported, HPatches-style: the share of positive pairs that are matched *and* whose
mean corner error is below 1 / 3 / 5 px; the false-match rate on negatives for the
calibrated verdict and for a plain fixed rule (>= 15 MAGSAC inliers, no checks);
and pairs per second (detection of both images included).

    python benchmarks/homography.py [--negatives 200]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from PIL import Image

from selfsim.data.pairs import warp_pair
from selfsim.data.reader import read_image
from selfsim.data.samples import opencv_data, photo_files
from selfsim.match import Matcher
from selfsim.match.geometry import project

# OpenCV's sample photos, one per scene (graf1 is used with its own ground truth).
OPENCV_PHOTOS = [
    "HappyFish.jpg", "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "blox.jpg",
    "board.jpg", "box_in_scene.png", "building.jpg", "butterfly.jpg", "chicky_512.png", "ela_original.jpg",
    "fruits.jpg", "home.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg",
    "orange.jpg", "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg",
    "starry_night.jpg", "stuff.jpg", "sudoku.png", "text_defocus.jpg",
]
MIN_KEYPOINTS = 300


def corner_error(H: np.ndarray | None, H_true: np.ndarray, size: tuple[int, int]) -> float:
    if H is None:
        return float("inf")
    w, h = size
    c = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
    return float(np.linalg.norm(project(H, c)[0] - project(H_true, c)[0], axis=1).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--negatives", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    data = opencv_data()
    fs = cv2.FileStorage(str(data / "H1to3p.xml"), cv2.FILE_STORAGE_READ)
    positives = [(read_image(data / "graf1.png"), read_image(data / "graf3.png"), fs.getNode("H13").mat(), "graf")]
    photos, flat = [], 0
    sift = cv2.SIFT_create()  # type: ignore[attr-defined]
    for f in photo_files() + [data / n for n in OPENCV_PHOTOS]:
        img = read_image(f, min_side=1024)
        img.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        # Smooth abstract wallpapers have next to no keypoints for any local feature:
        # they test nothing here (the embedding handles them). Keep textured pictures.
        if len(sift.detect(np.asarray(img.convert("L")), None)) < MIN_KEYPOINTS:
            flat += 1
            continue
        photos.append(img)
    for img in photos:
        for _ in range(2):
            warped, H = warp_pair(img, rng)
            positives.append((img, warped, H, "warp"))
    negatives = []
    for _ in range(args.negatives):
        i, j = rng.choice(len(photos), size=2, replace=False)
        negatives.append((photos[int(i)], photos[int(j)]))
    print(f"{len(positives)} positive pairs (graf1->graf3 + {len(positives) - 1} warped photos; "
          f"{flat} smooth pictures with < {MIN_KEYPOINTS} SIFT keypoints left out), "
          f"{len(negatives)} negative pairs of different photos\n")

    print("| features | matched, err < 1 px | < 3 px | < 5 px | graf1->3 error (px) | false matches (calibrated) "
          "| false matches (>= 15 inliers, no checks) | pairs/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method in ("sift", "orb", "akaze"):
        matcher = Matcher(method)
        t0 = time.perf_counter()
        errs, graf = [], float("inf")
        for a, b, H, kind in positives:
            r = matcher.match(a, b)
            e = corner_error(r.homography, H, a.size) if r.match else float("inf")
            errs.append(e)
            if kind == "graf":
                graf = corner_error(r.homography, H, a.size)
        fm = fm_naive = 0
        for a, b in negatives:
            r = matcher.match(a, b)
            fm += r.match
            fm_naive += r.inliers >= 15
        secs = time.perf_counter() - t0
        e = np.array(errs)
        n_pairs = len(positives) + len(negatives)
        print(f"| {method} | {(e < 1).mean():.3f} | {(e < 3).mean():.3f} | {(e < 5).mean():.3f} | {graf:.2f} "
              f"| {fm}/{len(negatives)} | {fm_naive}/{len(negatives)} | {n_pairs / secs:.1f} |")


if __name__ == "__main__":
    main()
