"""Fit the calibration of ``--mode fundamental`` (src/selfsim/match/fundamental_calibration.json)
on real two-view pairs, and report how it does on pairs it was not fitted on.

Positives (real 3D scenes seen twice, all from Debian's ``opencv-doc``):
- the stereo pairs ``aloeL/aloeR``, ``left/right`` and the 13 chessboard pairs
  ``leftNN/rightNN``;
- other two-view pairs: ``aero1/aero3``, ``basketball1/2``, ``rubberwhale1/2``,
  ``Blender_Suzanne1/2``, ``leuvenA/B``, ``box/box_in_scene``, ``graf1/graf3``;
- frames of the videos ``tree.avi``, ``Megamind.avi`` and ``vtest.avi``, 10 and 25
  frames apart.
Negatives: two unrelated pictures: different Debian wallpaper photos, and OpenCV
samples of different scenes.

The statistics are those of one fundamental-matrix verification (inliers, inlier
ratio, coverage). Pairs are split in two by their position in the list: the fit on the
even half is scored on the odd half (and the other way round), then the shipped
calibration is fitted on all of them.

    python benchmarks/fit_fundamental.py [--write]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.data.samples import opencv_data, photo_files
from selfsim.match import Calibration, Matcher, fit_calibration
from selfsim.match.calibration import stats_vector

OUT = Path(__file__).parents[1] / "src" / "selfsim" / "match" / "fundamental_calibration.json"
PAIRS = [
    ("aloeL.jpg", "aloeR.jpg"), ("left.jpg", "right.jpg"), ("aero1.jpg", "aero3.jpg"),
    ("basketball1.png", "basketball2.png"), ("rubberwhale1.png", "rubberwhale2.png"),
    ("Blender_Suzanne1.jpg", "Blender_Suzanne2.jpg"), ("leuvenA.jpg", "leuvenB.jpg"),
    ("box.png", "box_in_scene.png"), ("graf1.png", "graf3.png"),
    *[(f"left{i:02d}.jpg", f"right{i:02d}.jpg") for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)],
]
VIDEOS = ("tree.avi", "Megamind.avi", "vtest.avi")
SCENES = ["HappyFish.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg", "butterfly.jpg",
          "fruits.jpg", "home.jpg", "messi5.jpg", "orange.jpg", "starry_night.jpg", "stuff.jpg", "sudoku.png",
          "aloeL.jpg", "left01.jpg", "aero1.jpg", "basketball1.png", "leuvenA.jpg", "graf1.png"]


def small(img: Image.Image) -> Image.Image:
    img = img.copy()
    img.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
    return img


def frames(path: Path, gaps: tuple[int, ...] = (10, 25), starts: int = 4) -> list[tuple[Image.Image, Image.Image]]:
    cap = cv2.VideoCapture(str(path))
    video = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        video.append(Image.fromarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)))
    cap.release()
    out = []
    for s in np.linspace(0, len(video) - 1 - max(gaps), starts).astype(int):
        out += [(video[s], video[s + g]) for g in gaps]
    return out


def positives() -> list[tuple[Image.Image, Image.Image]]:
    data = opencv_data()
    pairs = [(small(read_image(data / a)), small(read_image(data / b))) for a, b in PAIRS]
    for v in VIDEOS:
        pairs += frames(data / v)
    return pairs


def negatives(n: int, rng: np.random.Generator) -> list[tuple[Image.Image, Image.Image]]:
    data = opencv_data()
    photos = [small(read_image(f, min_side=1024)) for f in photo_files()]
    scenes = [small(read_image(data / s)) for s in SCENES]
    out = []
    for k in range(n):
        pool = photos if k % 2 else scenes
        if k % 4 == 3:  # a photo against an OpenCV scene
            out.append((photos[int(rng.integers(len(photos)))], scenes[int(rng.integers(len(scenes)))]))
            continue
        i, j = rng.choice(len(pool), size=2, replace=False)
        out.append((pool[int(i)], pool[int(j)]))
    return out


def stats(matcher: Matcher, pairs: list[tuple[Image.Image, Image.Image]]) -> np.ndarray:
    rows = []
    for a, b in pairs:
        r = matcher.verify(matcher.features(a), matcher.features(b))
        rows.append(stats_vector(r.inliers, r.inlier_ratio, r.coverage) if r.box_a is not None
                    else stats_vector(0, 0.0, 0.0))
    return np.array(rows)


def score(cal: Calibration, X: np.ndarray) -> np.ndarray:
    return np.array([cal.is_match(cal.probability(int(round(np.expm1(x[0]))), x[1], x[2] ** 2),
                                  int(round(np.expm1(x[0])))) for x in X])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--negatives", type=int, default=160)
    ap.add_argument("--write", action="store_true", help=f"write {OUT}")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    matcher = Matcher(mode="fundamental")
    P, N = stats(matcher, positives()), stats(matcher, negatives(args.negatives, rng))
    inl_p, inl_n = np.expm1(P[:, 0]).round(), np.expm1(N[:, 0]).round()
    print(f"{len(P)} positive pairs: inliers median {np.median(inl_p):.0f}, min {inl_p.min():.0f}; "
          f"{len(N)} negative pairs: inliers median {np.median(inl_n):.0f}, max {inl_n.max():.0f}\n")
    print("| fitted on | scored on | recall | false matches |\n|---|---|---:|---:|")
    for fit_half, test_half in ((0, 1), (1, 0)):
        cal = fit_calibration(P[fit_half::2], N[fit_half::2], source="half")
        tp, fp = score(cal, P[test_half::2]), score(cal, N[test_half::2])
        print(f"| half {fit_half} | half {test_half} | {tp.mean():.3f} ({tp.sum()}/{len(tp)}) "
              f"| {fp.sum()}/{len(fp)} |")
    cal = fit_calibration(P, N, source=f"opencv-doc two-view pairs and video frames ({len(P)}), unrelated pictures "
                                       f"({len(N)}) (benchmarks/fit_fundamental.py)")
    print(f"\nall pairs: threshold {cal.threshold:.3f}, recall {cal.recall:.3f}, precision {cal.precision:.3f}")
    if args.write:
        cal.save(OUT)
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
