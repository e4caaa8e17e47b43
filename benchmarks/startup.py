"""Start-up: how long a command takes from the shell, against bare Python and `import torch`.

Each command runs --runs times in a fresh process (after one unmeasured run, so the
files are in the page cache); the table has the median and the fastest wall time.
`selfsim match A B` compares two 1-megapixel photos made from a Debian wallpaper (B a
turned, cropped, re-encoded copy of A).

    python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def two_photos(out: Path) -> tuple[Path, Path]:
    from PIL import Image

    from selfsim.data.samples import photo_files

    out.mkdir(parents=True, exist_ok=True)
    a, b = out / "a-1mp.jpg", out / "b-1mp.jpg"
    if not (a.is_file() and b.is_file()):
        photo = Image.open(sorted(photo_files())[3]).convert("RGB").resize((1250, 800), Image.Resampling.LANCZOS)
        photo.save(a, quality=92)
        photo.crop((100, 60, 1150, 760)).rotate(8).resize((1250, 832)).save(b, quality=80)
    return a, b


def wall(cmd: list[str], runs: int) -> tuple[float, float]:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path("bench-out/startup"))
    args = ap.parse_args()
    a, b = two_photos(args.out)
    selfsim = shutil.which("selfsim") or "selfsim"
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ('python -c "import torch"', [sys.executable, "-c", "import torch"]),
        ("selfsim --help", [selfsim, "--help"]),
        ("selfsim match --help", [selfsim, "match", "--help"]),
        ("selfsim search --help", [selfsim, "search", "--help"]),
        ("selfsim match A B (1 MP each)", [selfsim, "match", str(a), str(b)]),
        ("selfsim match A B --global", [selfsim, "match", str(a), str(b), "--global"]),
    ]
    print(f"| command | median s | fastest s |  ({args.runs} runs each)")
    print("|---|---:|---:|")
    for name, cmd in rows:
        median, fastest = wall(cmd, args.runs)
        print(f"| `{name}` | {median:.2f} | {fastest:.2f} |", flush=True)


if __name__ == "__main__":
    main()
