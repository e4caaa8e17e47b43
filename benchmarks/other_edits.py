"""Copies made by other code than selfsim's, searched among distractors.

The default encoder was adapted with ``selfsim.data.edits``, the code that also makes the
copy-detection benchmark's queries. This check makes its copies with PIL and OpenCV
directly, with other settings: a 12-25 degree rotation with black corners, a 300 px WebP
at quality 70, a red banner with large text, a crop of 50-70 % mirrored, a meme (white
bars and a caption, PNG), a half-size paste onto another picture, posterised and washed-out
colours (PNG), and a strong perspective warp with Gaussian noise. Eight copies of each of
the 100 pictures of a ``benchmarks/distractors.py`` copy set: 536 of the 67 indexed
originals, 264 of the 33 that are not.

    python benchmarks/distractors.py --seed 1 --sizes 6600 --methods default   # the index
    python benchmarks/other_edits.py --set bench-out/distractors/set-s1 --index bench-out/distractors/index-s1
"""

from __future__ import annotations

import argparse
import collections
import json
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import distractors  # benchmarks/: its search and scoring, run the same way
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from selfsim.eval.metrics import copy_detection_metrics


def _load(path: str) -> Image.Image:
    with Image.open(path) as im:
        out = ImageOps.exif_transpose(im).convert("RGB")
    out.thumbnail((1024, 1024))
    return out


def edits(im: Image.Image, other: Image.Image, rng: np.random.Generator) -> Iterator[tuple[str, Image.Image, str]]:
    """(name, copy, file format) for each of the eight edits."""
    w, h = im.size
    yield "rot", im.rotate(float(rng.uniform(12, 25)) * rng.choice([-1, 1]), expand=True), "jpg"
    small = im.copy()
    small.thumbnail((300, 300))
    yield "small", small, "webp"
    banner = im.copy()
    d = ImageDraw.Draw(banner, "RGBA")
    d.rectangle((0, int(h * .6), w, int(h * .85)), fill=(255, 0, 0, 140))
    d.text((int(w * .05), int(h * .62)), "SALE -50% TODAY", font=ImageFont.load_default(size=max(12, h // 10)),
           fill=(255, 255, 255, 255))
    yield "overlay", banner, "jpg"
    a = float(rng.uniform(0.5, 0.7))
    cw, ch = int(w * np.sqrt(a)), int(h * np.sqrt(a))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    yield "cropflip", ImageOps.mirror(im.crop((x, y, x + cw, y + ch))).resize((512, int(512 * ch / cw))), "jpg"
    meme = Image.new("RGB", (w, int(h * 1.5)), "white")
    meme.paste(im, (0, int(h * .25)))
    ImageDraw.Draw(meme).text((10, 5), "when the code works", font=ImageFont.load_default(size=max(12, h // 12)),
                              fill="black")
    yield "meme", meme, "png"
    pasted = other.resize((w, h))
    pasted.paste(im.resize((w // 2, h // 2)), (int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))))
    yield "pasted", pasted, "jpg"
    yield "poster", ImageEnhance.Color(ImageOps.posterize(im, 3)).enhance(0.3), "png"
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.clip(src + np.float32(rng.uniform(-0.2, 0.2, (4, 2)) * [w, h]), 0, [w, h]).astype(np.float32)
    warped = cv2.warpPerspective(np.asarray(im), cv2.getPerspectiveTransform(src, dst), (w, h)).astype(np.float64)
    yield "warpnoise", Image.fromarray(np.clip(warped + rng.normal(0, 15, warped.shape), 0, 255).astype(np.uint8)), "jpg"


def make_queries(copy_set: Path, out: Path, seed: int = 11) -> dict[str, str | None]:
    """Write the copies into ``out``; query name -> indexed original's name, or None."""
    meta = json.loads((copy_set / "copyset.json").read_text())
    indexed = {n for n in os.listdir(copy_set / "refs")}
    ref_of = {src: name for name, src in meta["sources"].items() if name in indexed}
    files = meta["settings"]["files"]
    others = [f for f in files if f not in ref_of]
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    truth: dict[str, str | None] = {}
    n = 0
    for f in files:
        pool = others if f in ref_of else [g for g in files if g != f]  # pastes land on non-indexed pictures
        im, other = _load(f), _load(pool[int(rng.integers(len(pool)))])
        for name, copy, fmt in edits(im, other, rng):
            q = f"o{n:04d}-{name}.{fmt}"
            n += 1
            copy.save(out / q, quality=70) if fmt != "png" else copy.save(out / q)
            truth[q] = ref_of.get(f)
    return truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, required=True, help="a copy set folder of benchmarks/distractors.py (set-sN)")
    ap.add_argument("--index", type=Path, required=True, help="the index that holds its refs (and distractors)")
    ap.add_argument("--search-args", nargs="*", default=[], help="extra arguments for selfsim search (after '=')")
    args = ap.parse_args()
    queries = args.set.parent / f"other-edits-{args.set.name}"
    truth = make_queries(args.set, queries)
    top, _ = distractors.search(args.index, queries, args.search_args)
    preds = distractors.predictions(top, truth, args.set / "refs")
    found = {p.query for p in preds if p.correct}
    n_pos = sum(r is not None for r in truth.values())
    m = copy_detection_metrics(preds, n_pos, len(truth))
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for q, r in truth.items():
        if r is not None:
            e = q.split("-")[1].split(".")[0]
            per[e][1] += 1
            per[e][0] += q in found
    print(f"{len(truth)} queries ({n_pos} with an original): micro-AP {m.micro_ap:.3f}, recall@1 {m.recall_at_1:.3f}")
    print("| edit | found first |\n|---|---:|")
    for e, (a, b) in sorted(per.items()):
        print(f"| {e} | {a} / {b} |")


if __name__ == "__main__":
    main()
