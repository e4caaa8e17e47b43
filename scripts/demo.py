"""The demo behind `make demo`: index real sample photos, search with edited copies,
print the results and write them as a small HTML page.

Sample photos come from Debian's wallpaper packages (fetched once into
~/.cache/selfsim). The demo runs the `selfsim` command exactly as a user would.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.edits import make_copy
from selfsim.data.reader import read_image
from selfsim.data.samples import photo_files

# A top hit scoring this much is called a copy: about precision 0.9 on BENCHMARKS.md's set
# (the threshold is measured on each query's best hit, so it is applied to that hit only).
COPY_THRESHOLD = 0.2
EDITS = ["crop", "text", "paste", "grayscale", "rotate", "flip", "perspective", "chain"]


def prepare(out: Path, seed: int = 0) -> tuple[Path, Path, dict[str, str]]:
    photos, queries = out / "photos", out / "queries"
    shutil.rmtree(out, ignore_errors=True)
    photos.mkdir(parents=True)
    queries.mkdir()
    files = photo_files(("mate-backgrounds", "ukui-wallpapers"))
    rng = np.random.default_rng(seed)
    pictures = []
    for f in files:
        img = read_image(f, min_side=768)
        img.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        pictures.append((f.stem, img))
    held_out = pictures[-2:]  # these two are not indexed: their copies should score low
    for name, img in pictures[:-2]:
        img.save(photos / f"{name}.jpg", quality=90)
    about = {}
    picks = rng.choice(len(pictures) - 2, size=len(EDITS) - 2, replace=False)
    jobs = [(pictures[i], e) for i, e in zip(picks, EDITS)] + list(zip(held_out, EDITS[-2:]))
    for k, ((name, img), edit) in enumerate(jobs):
        copy, desc = make_copy(img, edit, rng, pictures[int(rng.integers(len(pictures)))][1])
        qname = f"query{k + 1}-{desc.replace('+', '_')}.jpg"
        copy.save(queries / qname, quality=85)
        indexed = (name, img) not in held_out
        about[qname] = f"{desc} of {name}" + ("" if indexed else " (original NOT in the index)")
    return photos, queries, about


def write_html(out: Path, results: list[dict], about: dict[str, str]) -> Path:
    thumbs = out / "thumbs"
    thumbs.mkdir(exist_ok=True)

    def thumb(path: str) -> str:
        t = thumbs / (Path(path).stem + ".jpg")
        if not t.exists():
            img = read_image(path)
            img.thumbnail((220, 220))
            img.save(t, quality=85)
        return f"thumbs/{t.name}"

    rows = []
    for r in results:
        q = r["query"]
        cells = "".join(
            f'<td><img src="{thumb(h["path"])}"><br>{html.escape(Path(h["path"]).name)}'
            f"<br><b>score {h['score']:.3f}</b>"
            + (' <b style="color:#080">copy</b>' if rank == 0 and h["score"] >= COPY_THRESHOLD else "")
            + "</td>"
            for rank, h in enumerate(r["hits"])
        )
        rows.append(
            f'<tr><td><img src="{thumb(q)}"><br><i>{html.escape(about.get(Path(q).name, ""))}</i></td>{cells}</tr>'
        )
    page = out / "results.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8><title>selfsim demo</title>"
        "<style>body{font-family:sans-serif}td{vertical-align:top;padding:6px;font-size:13px}"
        "img{max-width:220px;max-height:160px}</style>"
        "<h1>selfsim demo: edited copies searched against an index of photos</h1>"
        f"<p>Left: the query. Right: the best hits, best first. Scores are comparable across queries: "
        f"copies score high, pictures whose original is not indexed score low; hits scoring "
        f"at least {COPY_THRESHOLD} in first place are marked as copies.</p>"
        "<table><tr><th>query</th><th>hit 1</th><th>hit 2</th><th>hit 3</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return page


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("demo-out"))
    args = ap.parse_args()
    print("fetching sample photos (Debian packages mate-backgrounds, ukui-wallpapers)...", file=sys.stderr)
    photos, queries, about = prepare(args.out)
    index = args.out / "index"
    subprocess.run(["selfsim", "index", str(photos), "--index", str(index)], check=True)
    res = subprocess.run(
        ["selfsim", "search", "--index", str(index), str(queries), "-k", "3", "--json", "-q"],
        check=True, capture_output=True, text=True,
    )
    results = [json.loads(line) for line in res.stdout.splitlines()]
    print()
    for r in results:
        name = Path(r["query"]).name
        print(f"{name}  ({about[name]})")
        for rank, h in enumerate(r["hits"]):
            verdict = "  <- copy" if rank == 0 and h["score"] >= COPY_THRESHOLD else ""
            print(f"    {h['score']:7.3f}  {Path(h['path']).name}{verdict}")
    page = write_html(args.out, results, about)
    print(f"\nwrote {page} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
