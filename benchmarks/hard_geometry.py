"""Matching under hard geometry: strong tilt, scale and rotation, with combined
photometric damage. selfsim's matcher against plain SIFT + MAGSAC and ORB + RANSAC,
in one run, on the same pairs.

Pairs (all from real photos: the Debian wallpaper packages and OpenCV's samples, at
1024 px on the longer side, textured ones only):
- **Positives**: a photo and a view of it through a virtual camera: the photo is a
  plane seen with a tilt of up to 60 degrees (about a random axis), any in-plane
  rotation and a scale of 0.25 to 4x. The view is cropped to at most 1280 x 960 around
  the photo (a zoomed view shows part of it). Then brightness, contrast, gamma, colour
  balance, noise, sometimes blur, and JPEG down to quality 10, combined. Three bands:
  - ``moderate``: tilt 0-30 degrees, scale 0.5-2x, JPEG quality 50-95;
  - ``strong``: tilt 30-50 degrees, scale 0.35-2.8x, JPEG quality 25-95;
  - ``extreme``: tilt 50-60 degrees, scale 0.25-4x, JPEG quality 10-95.
  Plus OpenCV's graf1 -> graf3 with its measured homography (band ``graf``).
- **Negatives**: a photo and such a view of a *different* photo.

Errors are measured over the part of A that the view shows: a 16 x 16 grid of A's
points whose true position falls inside B, each mapped by the found and the true
homography; the mean distance, in B's pixels. A pair counts within 1 / 3 / 5 px only
when it is also matched (the verdict), so a missed pair is a miss at every tolerance.

``--split tune`` and ``--split report`` use two disjoint halves of the photos (by a
hash of the file name) and different random views: constants are tuned on ``tune``,
and BENCHMARKS.md reports ``report``.

    python benchmarks/hard_geometry.py [--split report] [--per-photo 9] [--negatives 300]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.data.samples import opencv_data, photo_files
from selfsim.match import Matcher

OPENCV_PHOTOS = [
    "HappyFish.jpg", "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "blox.jpg",
    "board.jpg", "box_in_scene.png", "building.jpg", "butterfly.jpg", "chicky_512.png", "ela_original.jpg",
    "fruits.jpg", "home.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg",
    "orange.jpg", "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg",
    "starry_night.jpg", "stuff.jpg", "sudoku.png", "text_defocus.jpg",
]
MIN_KEYPOINTS = 300
SIDE = 1024
MAX_VIEW = (1280, 960)
BANDS = {  # tilt (degrees), log2 scale limit, lowest JPEG quality
    "moderate": ((0, 30), 1.0, 50),
    "strong": ((30, 50), 1.5, 25),
    "extreme": ((50, 60), 2.0, 10),
}


@dataclass
class Pair:
    a: Image.Image
    b: Image.Image
    H: np.ndarray | None  # A -> B pixels; None for a negative
    band: str


def camera_view(size: tuple[int, int], rng: np.random.Generator, band: str) -> tuple[np.ndarray, tuple[int, int]]:
    """A homography from A's pixels to a virtual camera's view of A, and the view's size.

    A is a plane; the camera is tilted by ``tilt`` about a random axis in the plane,
    rotated about its own axis, and zoomed by ``scale`` (a pinhole camera at 1.5 image
    widths, so the view also has perspective).
    """
    (t0, t1), log_scale, _ = BANDS[band]
    w, h = size
    tilt = np.radians(rng.uniform(t0, t1))
    axis = rng.uniform(0, np.pi)
    spin = rng.uniform(0, 2 * np.pi)
    scale = 2 ** rng.uniform(-log_scale, log_scale)
    d = 1.5 * max(w, h)
    ca, sa = np.cos(axis), np.sin(axis)
    Rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    Rx = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    cs, ss = np.cos(spin), np.sin(spin)
    Rs = np.array([[cs, -ss, 0], [ss, cs, 0], [0, 0, 1]])
    R = Rs @ Rz @ Rx @ Rz.T
    # Plane point (X, Y, 0) -> camera: R [X, Y, 0] + (0, 0, d); pixels: f * (x/z, y/z).
    f = d * scale
    P = np.diag([f, f, 1.0]) @ np.column_stack([R[:, 0], R[:, 1], [0, 0, d]])
    T_a = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    H = P @ T_a
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    xyw = np.c_[corners, np.ones(4)] @ H.T
    pts = xyw[:, :2] / xyw[:, 2:3]
    lo, hi = pts.min(0), pts.max(0)
    vw, vh = (int(min(MAX_VIEW[0], np.ceil(hi[0] - lo[0]))), int(min(MAX_VIEW[1], np.ceil(hi[1] - lo[1]))))
    # The view's window: the whole warped photo when it fits; else a window around the
    # image of a point near A's centre.
    c = np.array([w / 2, h / 2]) + rng.uniform(-0.2, 0.2, 2) * [w, h]
    cxyw = H @ [c[0], c[1], 1]
    centre = cxyw[:2] / cxyw[2]
    x0 = lo[0] if hi[0] - lo[0] <= MAX_VIEW[0] else np.clip(centre[0] - vw / 2, lo[0], hi[0] - vw)
    y0 = lo[1] if hi[1] - lo[1] <= MAX_VIEW[1] else np.clip(centre[1] - vh / 2, lo[1], hi[1] - vh)
    H = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]) @ H
    return H / H[2, 2], (max(vw, 16), max(vh, 16))


def damage(img: Image.Image, rng: np.random.Generator, band: str) -> Image.Image:
    """Brightness, contrast, gamma, colour balance, noise, maybe blur, then JPEG."""
    x = np.asarray(img, np.float64) / 255
    x = np.clip((x - 0.5) * rng.uniform(0.6, 1.4) + 0.5 + rng.uniform(-0.15, 0.15), 0, 1)
    x = x ** rng.uniform(0.6, 1.6) * rng.uniform(0.8, 1.2, size=3)
    x = x * 255 + rng.normal(0, rng.uniform(0, 10), size=x.shape)
    out = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.2))
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, "JPEG", quality=int(rng.integers(BANDS[band][2], 96)))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def view_of(img: Image.Image, rng: np.random.Generator, band: str) -> tuple[Image.Image, np.ndarray]:
    while True:
        H, size = camera_view(img.size, rng, band)
        if visible_points(H, img.size, size).shape[0] >= 40:  # enough of A is in the view
            break
    warped = cv2.warpPerspective(np.asarray(img), H, size, flags=cv2.INTER_AREA if H[0, 0] < 1 else cv2.INTER_LINEAR)
    return damage(Image.fromarray(warped), rng, band), H


def visible_points(H: np.ndarray, size_a: tuple[int, int], size_b: tuple[int, int]) -> np.ndarray:
    """Points of a 16 x 16 grid over A whose image under ``H`` lies inside B."""
    w, h = size_a
    g = np.stack(np.meshgrid(np.linspace(0, w - 1, 16), np.linspace(0, h - 1, 16)), -1).reshape(-1, 2)
    xyw = np.c_[g, np.ones(len(g))] @ H.T
    p = xyw[:, :2] / xyw[:, 2:3]
    ok = (xyw[:, 2] > 0) & (p[:, 0] >= 0) & (p[:, 1] >= 0) & (p[:, 0] < size_b[0]) & (p[:, 1] < size_b[1])
    return g[ok]


def view_error(H: np.ndarray | None, H_true: np.ndarray, size_a: tuple[int, int], size_b: tuple[int, int]) -> float:
    if H is None:
        return float("inf")
    g = visible_points(H_true, size_a, size_b)
    if len(g) == 0:  # graf: the whole of A
        w, h = size_a
        g = np.stack(np.meshgrid(np.linspace(0, w - 1, 16), np.linspace(0, h - 1, 16)), -1).reshape(-1, 2)

    def proj(M: np.ndarray) -> np.ndarray:
        xyw = np.c_[g, np.ones(len(g))] @ M.T
        return xyw[:, :2] / xyw[:, 2:3]

    with np.errstate(all="ignore"):
        e = float(np.linalg.norm(proj(H) - proj(H_true), axis=1).mean())
    return e if np.isfinite(e) else float("inf")


def in_split(name: str, split: str) -> bool:
    tune = int(hashlib.sha1(name.encode()).hexdigest(), 16) % 2 == 0
    return tune == (split == "tune")


def load_photos(split: str) -> list[Image.Image]:
    data = opencv_data()
    sift = cv2.SIFT_create()  # type: ignore[attr-defined]
    out = []
    for f in photo_files() + [data / n for n in OPENCV_PHOTOS]:
        if not in_split(f.name, split):
            continue
        img = read_image(f, min_side=SIDE)
        img.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
        # Smooth abstract wallpapers have next to no keypoints for any local feature.
        if len(sift.detect(np.asarray(img.convert("L")), None)) >= MIN_KEYPOINTS:
            out.append(img)
    return out


def make_pairs(photos: list[Image.Image], rng: np.random.Generator, per_photo: int, negatives: int) -> list[Pair]:
    data = opencv_data()
    fs = cv2.FileStorage(str(data / "H1to3p.xml"), cv2.FILE_STORAGE_READ)
    pairs = [Pair(read_image(data / "graf1.png"), read_image(data / "graf3.png"), fs.getNode("H13").mat(), "graf")]
    bands = list(BANDS)
    for i, img in enumerate(photos):
        for k in range(per_photo):
            band = bands[(i + k) % len(bands)]
            b, H = view_of(img, rng, band)
            pairs.append(Pair(img, b, H, band))
    for k in range(negatives):
        i, j = rng.choice(len(photos), size=2, replace=False)
        b, _ = view_of(photos[int(j)], rng, bands[k % len(bands)])
        pairs.append(Pair(photos[int(i)], b, None, "negative"))
    return pairs


# --- the competitors: (a, b) -> (verdict, homography A -> B or None) ---------------------

Method = Callable[[Image.Image, Image.Image], tuple[bool, np.ndarray | None]]


#: The passes selfsim ran on each pair, in order (read by the timing table).
SELFSIM_PASSES: list[tuple[str, ...]] = []


def selfsim_method(**options: bool) -> Method:
    matcher = Matcher(**options)

    def run(a: Image.Image, b: Image.Image) -> tuple[bool, np.ndarray | None]:
        r = matcher.match(a, b)
        SELFSIM_PASSES.append(r.passes)
        return r.match, r.homography

    return run


def opencv_method(name: str, min_inliers: int = 15) -> Method:
    """Plain OpenCV as its tutorials use it: detector defaults, ratio test 0.8, a robust
    homography, and a fixed inlier count as the verdict."""
    if name == "sift":
        det, norm, robust = cv2.SIFT_create(), cv2.NORM_L2, cv2.USAC_MAGSAC  # type: ignore[attr-defined]
    else:
        det, norm, robust = cv2.ORB_create(nfeatures=2000), cv2.NORM_HAMMING, cv2.RANSAC  # type: ignore[attr-defined]
    bf = cv2.BFMatcher(norm)

    def run(a: Image.Image, b: Image.Image) -> tuple[bool, np.ndarray | None]:
        ka, da = det.detectAndCompute(np.asarray(a.convert("L")), None)
        kb, db = det.detectAndCompute(np.asarray(b.convert("L")), None)
        if da is None or db is None or len(ka) < 4 or len(kb) < 4:
            return False, None
        good = [m for m, *rest in bf.knnMatch(da, db, k=2) if rest and m.distance < 0.8 * rest[0].distance]
        if len(good) < 4:
            return False, None
        pa = np.float32([ka[m.queryIdx].pt for m in good])
        pb = np.float32([kb[m.trainIdx].pt for m in good])
        H, mask = cv2.findHomography(pa, pb, robust, 3.0)
        if H is None or mask is None:
            return False, None
        return int(mask.sum()) >= min_inliers, H

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("tune", "report"), default="report")
    ap.add_argument("--per-photo", type=int, default=9, help="views per photo (bands take turns)")
    ap.add_argument("--negatives", type=int, default=300)
    ap.add_argument("--methods", nargs="+", default=["selfsim", "sift-magsac", "orb-ransac"],
                    help="of: selfsim, selfsim-no-affine, sift-magsac, orb-ransac (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos (quick looks)")
    args = ap.parse_args()
    rng = np.random.default_rng(0 if args.split == "tune" else 1)
    photos = load_photos(args.split)
    if args.limit:
        photos = photos[: args.limit]
    pairs = make_pairs(photos, rng, args.per_photo, args.negatives)
    n_pos = sum(p.H is not None for p in pairs)
    print(f"split {args.split}: {len(photos)} photos; {n_pos} positive pairs (graf1->graf3 + views), "
          f"{len(pairs) - n_pos} negative pairs\n")
    methods: dict[str, Method] = {"selfsim": selfsim_method(), "selfsim-no-affine": selfsim_method(affine=False),
                                  "sift-magsac": opencv_method("sift"),
                                  "orb-ransac": opencv_method("orb")}
    bands = ["graf", *BANDS]
    print("| method | band | pairs | matched | < 1 px | < 3 px | < 5 px | median error px |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    summary = []
    for name in args.methods:
        run = methods[name]
        errs: dict[str, list[float]] = {b: [] for b in bands}
        matched: dict[str, int] = dict.fromkeys(bands, 0)
        false, times = 0, []
        for p in pairs:
            t0 = time.perf_counter()
            ok, H = run(p.a, p.b)
            times.append(time.perf_counter() - t0)
            if p.H is None:
                false += ok
                continue
            matched[p.band] += ok
            errs[p.band].append(view_error(H, p.H, p.a.size, p.b.size) if ok else float("inf"))
        every = np.concatenate([np.array(errs[b]) for b in bands])
        for band in [*bands, "all"]:
            e = every if band == "all" else np.array(errs[band])
            m = int(np.isfinite(e).sum())
            med = f"{np.median(e[np.isfinite(e)]):.2f}" if m else "-"
            label = f"**{band}**" if band == "all" else band
            print(f"| {name} | {label} | {len(e)} | {m / len(e):.3f} | {(e < 1).mean():.3f} | {(e < 3).mean():.3f} "
                  f"| {(e < 5).mean():.3f} | {med} |")
        positive = np.array([p.H is not None for p in pairs])
        t = np.array(times)
        summary.append((name, false, float(np.median(t)), float(np.median(t[positive])),
                        float(np.median(t[~positive])), float(t.mean())))
        if name.startswith("selfsim"):
            affine = np.array(["affine" in ps for ps in SELFSIM_PASSES])
            SELFSIM_PASSES.clear()
            print(f"\n{name}: the affine pass ran on {affine[positive].sum()} of {positive.sum()} positive and "
                  f"{affine[~positive].sum()} of {(~positive).sum()} negative pairs; median s per pair with it "
                  f"{np.median(t[affine]) if affine.any() else float('nan'):.3f}, without it "
                  f"{np.median(t[~affine]) if (~affine).any() else float('nan'):.3f}\n")
    print("\n| method | false matches | median s per pair | median s, positives | median s, negatives "
          "| mean s per pair |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, false, med, med_pos, med_neg, mean in summary:
        print(f"| {name} | {false}/{len(pairs) - n_pos} | {med:.3f} | {med_pos:.3f} | {med_neg:.3f} | {mean:.3f} |")


if __name__ == "__main__":
    main()
