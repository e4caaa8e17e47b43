"""Duplicate groups on real pictures: `selfsim dedup` against pHash and CNN-cosine grouping.

The folder (built from Debian packages, see DEVELOPERS' notes in the README):
- Plasma wallpapers at three of their shipped sizes each (16:9, 5:4 and 4:3: rescaled
  and cropped versions of one picture), one group per wallpaper;
- other wallpaper photos: some with two edited copies (resized + JPEG, cropped,
  colour-filtered, captioned, re-encoded as WebP), the rest single;
- hard negatives, each its own picture: OpenCV's chessboard series (left01-08),
  a stereo pair, consecutive video frames, an exposure change.

Scores are pairwise over exact + near groups: precision and recall of "these two files
are copies", F1, and "wrong joins", predicted groups that hold files of different truth
groups. pHash groups files within a Hamming distance (imagededup's default is 10 bits)
and CNN-cosine groups files above a cosine of the default encoder, both by connected
components, at that default and at their best threshold on this very set (an
advantage selfsim does not get). ``--seed`` picks which pictures get copies.

``--hard`` makes three copies of each of those 18 photos with one to three edits each
(:data:`HARD_RECIPES`: a crop keeping only 20-40 % of the area, a semi-transparent logo,
a 2-6 degree straightening, crop + colour filter, caption + half size, crop + logo),
saved as JPEG, PNG and WebP, and adds other shots of scenes (:data:`HARD_NEGATIVES`).
``--explain`` lists every pair selfsim missed and every wrong join, with the stage
that decided it.

    python benchmarks/dedup_quality.py [--seed 0] [--out bench-out/dedup] [--hard] [--explain]
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from selfsim.data.edits import EDITS
from selfsim.data.reader import read_image
from selfsim.data.samples import fetch_package, opencv_data, photo_files
from selfsim.index import Index

PLASMA = ["Autumn", "BytheWater", "ColdRipple", "EveningGlow", "FallenLeaf", "Elarun", "Flow", "Honeywave",
          "IceCold", "Kite", "OneStandsOut", "PastelHills", "Path", "SafeLanding", "Shell", "Volna"]
SIZES = ["1920x1080", "1280x1024", "800x600"]
NEGATIVES = [f"left0{i}.jpg" for i in range(1, 9)] + ["aloeL.jpg", "aloeR.jpg", "basketball1.png",
                                                      "basketball2.png", "rubberwhale1.png", "rubberwhale2.png",
                                                      "leuvenA.jpg", "leuvenB.jpg"]

#: ``--hard``: more other shots of scenes: the rest of the chessboard series and the
#: stereo partners of the first eight, two renders of one model, two aerial views, a
#: viewpoint change, a stereo pair, and a box with a photo of a scene holding it.
HARD_NEGATIVES = [f"left{i:02d}.jpg" for i in (9, 11, 12, 13, 14)] + [f"right0{i}.jpg" for i in range(1, 9)] + [
    "Blender_Suzanne1.jpg", "Blender_Suzanne2.jpg", "aero1.jpg", "aero3.jpg", "graf1.png", "graf3.png",
    "left.jpg", "right.jpg", "box.png", "box_in_scene.png"]


def strong_crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Keep 20-40 % of the area (the library's crop keeps 35-75 %)."""
    w, h = img.size
    area, aspect = rng.uniform(0.2, 0.4), rng.uniform(0.75, 1.33)
    cw, ch = int(min(w, w * np.sqrt(area * aspect))), int(min(h, h * np.sqrt(area / aspect)))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def watermark(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A semi-transparent logo (badge and name), 18-25 % of the width, in a random corner."""
    w, h = img.size
    lw = int(w * rng.uniform(0.18, 0.25))
    lh = lw // 3
    logo = Image.new("RGBA", (lw, lh), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.rounded_rectangle((0, 0, lw - 1, lh - 1), radius=lh // 4, fill=(255, 255, 255, 110), outline=(0, 0, 0, 160),
                           width=max(1, lh // 20))
    draw.ellipse((lh // 6, lh // 6, lh - lh // 6, lh - lh // 6), fill=(200, 30, 30, 170))
    draw.text((lh, lh // 4), "PHOTO", font=ImageFont.load_default(size=max(8, lh // 2)), fill=(20, 20, 20, 190))
    margin = int(0.03 * w)
    x = margin if rng.random() < 0.5 else w - lw - margin
    y = margin if rng.random() < 0.5 else h - lh - margin
    out = img.convert("RGBA")
    out.alpha_composite(logo, (x, y))
    return out.convert("RGB")


def tilt(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Rotate 2-6 degrees either way and keep the largest centred frame without corners."""
    w, h = img.size
    angle = float(rng.uniform(2, 6) * rng.choice([-1, 1]))
    c, s = np.cos(np.radians(abs(angle))), np.sin(np.radians(abs(angle)))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    cw, ch = int(w * scale), int(h * scale)
    rotated = img.rotate(angle, resample=Image.Resampling.BICUBIC)
    return rotated.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))


def half(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR)


def library_edit(name: str) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    edit = EDITS[name]
    return lambda img, rng: edit(img, rng, None)


HARD_EDITS = {"strong_crop": strong_crop, "watermark": watermark, "tilt": tilt, "half": half,
              "crop": library_edit("crop"), "color": library_edit("color"), "text": library_edit("text")}
#: ``--hard`` copies: (name, edits in order, file format); photo n gets recipes 3n, 3n+1, 3n+2.
HARD_RECIPES = [("strongcrop", ("strong_crop",), "jpg"), ("logo", ("watermark",), "png"), ("tilt", ("tilt",), "webp"),
                ("crop-color", ("crop", "color"), "jpg"), ("text-half", ("text", "half"), "jpg"),
                ("crop-logo", ("crop", "watermark"), "webp")]


def hard_copies(img: Image.Image, n: int, rng: np.random.Generator, folder: Path) -> list[Path]:
    """Write photo ``n``'s three ``--hard`` copies into ``folder``."""
    out = []
    for k in range(3):
        name, edits, fmt = HARD_RECIPES[(n * 3 + k) % len(HARD_RECIPES)]
        copy = img
        for edit in edits:
            copy = HARD_EDITS[edit](copy, rng)
        path = folder / f"photo{n:02d}-{name}.{fmt}"
        copy.save(path, **({} if fmt == "png" else {"quality": 88 if fmt == "jpg" else 80}))
        out.append(path)
    return out


def build(out: Path, seed: int, hard: bool = False) -> dict[str, int]:
    """Write the folder; returns each file's truth group."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    truth: dict[str, int] = {}
    group = 0
    root = fetch_package("plasma-workspace-wallpapers") / "usr/share/wallpapers"
    for name in PLASMA:
        files = [root / name / "contents/images" / f"{s}.jpg" for s in SIZES]
        files = [f for f in files if f.exists()]
        if len(files) < 2:
            continue
        for f in files:
            target = out / "plasma" / f"{name}-{f.stem}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, target)
            truth[str(target)] = group
        group += 1
    rng = np.random.default_rng(seed)
    photos = [p for p in photo_files(("mate-backgrounds", "ukui-wallpapers", "gnome-backgrounds"))]
    order = rng.permutation(len(photos))
    edits = ["resize", "crop", "color", "text", "webp"]
    for n, i in enumerate(order[:36]):
        img = read_image(photos[i])
        img.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
        base = out / "photos" / f"photo{n:02d}.jpg"
        base.parent.mkdir(parents=True, exist_ok=True)
        img.save(base, quality=92)
        truth[str(base)] = group
        if n < 18 and hard:
            (out / "copies").mkdir(exist_ok=True)
            truth.update((str(c), group) for c in hard_copies(img, n, rng, out / "copies"))
        elif n < 18:  # two edited copies each
            for k in range(2):
                edit = edits[(n * 2 + k) % len(edits)]
                copy = out / "copies" / f"photo{n:02d}-{edit}.{'webp' if edit == 'webp' else 'jpg'}"
                copy.parent.mkdir(parents=True, exist_ok=True)
                if edit == "resize":
                    img.resize((img.width // 2, img.height // 2)).save(copy, quality=75)
                elif edit == "webp":
                    img.save(copy, quality=80)
                else:
                    EDITS[edit](img, rng, None).save(copy, quality=88)
                truth[str(copy)] = group
        group += 1
    data = opencv_data()
    for name in NEGATIVES + (HARD_NEGATIVES if hard else []):
        target = out / "scenes" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data / name, target)
        truth[str(target)] = group
        group += 1
    return truth


def pairs_of(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}  # type: ignore[misc]


def score(groups: list[list[str]], truth: dict[str, int]) -> tuple[float, float, float, int]:
    predicted = pairs_of(groups)
    by_truth: dict[int, list[str]] = {}
    for f, g in truth.items():
        by_truth.setdefault(g, []).append(f)
    actual = pairs_of(list(by_truth.values()))
    tp = len(predicted & actual)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(actual) if actual else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    wrong = sum(len({truth[m] for m in g}) > 1 for g in groups)
    return p, r, f1, wrong


def components(files: list[str], linked: np.ndarray) -> list[list[str]]:
    """Connected components of a boolean adjacency matrix (n, n)."""
    n = len(files)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(linked, 1))):
        parent[find(int(i))] = find(int(j))
    out: dict[int, list[str]] = {}
    for i in range(n):
        out.setdefault(find(i), []).append(files[i])
    return [g for g in out.values() if len(g) > 1]


def explain(index: Path, groups: list[list[str]], truth: dict[str, int]) -> None:
    """Print each missed pair and each wrongly joined pair with the stage that decided it."""
    from selfsim.dedup.finder import DedupOptions, check_pair
    from selfsim.dedup.graph import neighbour_graph
    from selfsim.search.verify import Verifier

    by_truth: dict[int, list[str]] = {}
    for f, g in truth.items():
        by_truth.setdefault(g, []).append(f)
    predicted, actual = pairs_of(groups), pairs_of(list(by_truth.values()))
    options = DedupOptions()
    with Index.open(index) as idx:
        records = {r.path: r for r in idx.records()}
        ids, xb = idx.catalog.vectors(idx.model.dim)
        row = {int(i): n for n, i in enumerate(ids)}
        edges = neighbour_graph(ids, xb, options.neighbours, options.min_similarity)
        candidates = set(zip(edges.a.tolist(), edges.b.tolist()))
        verifier = Verifier(idx)
        for title, pairs in (("missed", sorted(actual - predicted)), ("wrongly joined", sorted(predicted - actual))):
            print(f"\n{len(pairs)} pairs {title}:")
            for x, y in pairs:
                a, b = records[str(Path(x).resolve())], records[str(Path(y).resolve())]
                s = float(xb[row[a.id]] @ xb[row[b.id]])
                names = f"{Path(x).parent.name}/{Path(x).name} ~ {Path(y).parent.name}/{Path(y).name}"
                if a.sha256 == b.sha256:
                    why = "the same content"
                elif (min(a.id, b.id), max(a.id, b.id)) not in candidates:
                    why = f"not a candidate (cosine {s:.3f}, floor {options.min_similarity}, {options.neighbours} neighbours)"
                else:
                    check = check_pair(verifier, a, b, s)
                    why = f"{check.kind or 'unconfirmed'}: {check.reason}"
                    if check.kind == "near" and title == "missed":
                        why = "confirmed, but grouped apart (each joins a centre it is not a copy of)" + f"; {why}"
                print(f"  {names}  cosine {s:.3f}: {why}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench-out/dedup"))
    ap.add_argument("--hard", action="store_true", help="three copies with harder edits each, and more other shots")
    ap.add_argument("--explain", action="store_true", help="list selfsim's missed pairs and wrong joins, and why")
    args = ap.parse_args()
    folder = (args.out / "folder").resolve()  # selfsim dedup --json lists absolute paths
    truth = build(folder, args.seed, args.hard)
    index = args.out / "index"
    shutil.rmtree(index, ignore_errors=True)
    run = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "dedup", str(folder), "--index", str(index),
                          "--json", "-q"], capture_output=True, text=True, check=True)
    found = [g["members"] for g in json.loads(run.stdout)["groups"] if g["kind"] in ("exact", "near")]
    n_groups = len(set(truth.values()))
    print(f"{len(truth)} files in {n_groups} truth groups ({sum(1 for g in set(truth.values()) if list(truth.values()).count(g) > 1)} "
          f"with copies); seed {args.seed}{', hard' if args.hard else ''}")
    print(f"{'method':<34} {'precision':>9} {'recall':>7} {'F1':>6} {'wrong joins':>12}")
    rows = [("selfsim dedup (exact + near)", found)]
    files = sorted(truth)
    hashes = np.array([imagehash.phash(read_image(f)).hash.flatten() for f in files])
    dist = (hashes[:, None, :] != hashes[None, :, :]).sum(-1)
    best = max(range(0, 25), key=lambda t: score(components(files, dist <= t), truth)[2])
    rows += [("pHash, imagededup default (10 bits)", components(files, dist <= 10)),
             (f"pHash, best threshold ({best} bits)", components(files, dist <= best))]
    with Index.open(index) as idx:
        by_path = {r.path: r.id for r in idx.records()}
        ids, xb = idx.catalog.vectors(idx.model.dim)
    row = {i: n for n, i in enumerate(ids.tolist())}
    v = xb[[row[by_path[str(Path(f).resolve())]] for f in files]]
    sims = v @ v.T
    grid = np.round(np.arange(0.70, 0.99, 0.01), 2)
    best_c = max(grid, key=lambda t: score(components(files, sims >= t), truth)[2])
    rows += [("CNN cosine >= 0.90", components(files, sims >= 0.90)),
             (f"CNN cosine, best threshold ({best_c:.2f})", components(files, sims >= best_c))]
    for name, groups in rows:
        p, r, f1, wrong = score(groups, truth)
        print(f"{name:<34} {p:>9.3f} {r:>7.3f} {f1:>6.3f} {wrong:>12}")
    if args.explain:
        explain(index, found, truth)


if __name__ == "__main__":
    main()
