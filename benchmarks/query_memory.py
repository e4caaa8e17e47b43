"""Peak memory of `selfsim search` over huge queries: N PNGs of 100 megapixels each
(a few hundred KB on disk), one batch, against a small index.

    python benchmarks/query_memory.py [--queries 16] [--src OTHER/src --label old]

``--src`` runs the search with another checkout's ``src`` first on the path (to
compare with an earlier version in the same run). Prints one table row per run.
"""

from __future__ import annotations

import argparse
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from PIL import Image

PROBE = (
    "import resource, runpy, sys; sys.argv = ['selfsim', 'search', '--index', sys.argv[1], sys.argv[2], "
    "'--json', '-k', '1', '-q']\n"
    "try:\n    runpy.run_module('selfsim.cli.main', run_name='__main__')\n"
    "except SystemExit as e:\n    code = e.code\n"
    "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)"
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def striped_png(width: int, height: int) -> bytes:
    z = zlib.compressobj(9)
    rows = [z.compress(b"\x00" + bytes([(y // 500) * 37 % 256, 200, 90]) * width) for y in range(height)]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(rows) + z.flush())
            + _chunk(b"IEND", b""))


def run(src: str | None, pictures: Path, idx: Path, queries: Path) -> tuple[float, float, int]:
    """Index ``pictures`` and search ``queries`` with one version; peak GB, seconds, status."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(pictures), "--index", str(idx), "-q"],
                   check=True, env=env, capture_output=True)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE, str(idx), str(queries)], capture_output=True, text=True,
                         env=env)
    seconds = time.perf_counter() - start
    peak = int(out.stderr.split("PEAK")[1].split()[0]) / 2**20 if "PEAK" in out.stderr else float("nan")
    return peak, seconds, out.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=16)
    ap.add_argument("--src", action="append", default=[], help="another checkout's src folder (repeatable)")
    ap.add_argument("--label", action="append", default=[], help="a name for each --src")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="selfsim-qmem-"))
    pictures, queries = work / "pictures", work / "queries"
    pictures.mkdir()
    queries.mkdir()
    for i in range(8):
        Image.effect_mandelbrot((320, 240), (-2 + i * 0.1, -1.2, 1, 1.2), 60 + i * 10).convert("RGB").save(
            pictures / f"{i}.png")
    data = striped_png(10_000, 9_999)
    for i in range(args.queries):
        (queries / f"huge{i:02d}.png").write_bytes(data)
    print(f"{args.queries} queries of 10000 x 9999 px ({len(data) / 1024:.0f} KB each on disk); "
          f"{os.cpu_count()} CPU cores, {platform.machine()}")
    print(f"{'version':<10} {'peak memory':>12} {'time':>8} {'status':>7}")
    versions = [("this", None), *zip(args.label or [f"src{i}" for i in range(len(args.src))], args.src)]
    for n, (label, src) in enumerate(versions):
        peak, seconds, code = run(src, pictures, work / f"idx{n}", queries)
        print(f"{label:<10} {peak:>9.2f} GB {seconds:>7.1f}s {code:>7}")


if __name__ == "__main__":
    main()
