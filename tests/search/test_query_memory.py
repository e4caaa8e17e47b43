"""Huge queries: sixteen 100-megapixel PNGs (a few hundred KB on disk each) are
searched in one batch within a bounded amount of memory, because each query is
shrunk to what the model needs as soon as it is decoded."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1]))
from cli.test_hostile_files import _png_chunk  # noqa: E402

pytestmark = pytest.mark.slow

#: Peak resident memory allowed for the whole search process (torch itself takes ~0.6 GB).
LIMIT_GB = 3.0


def striped_png(width: int, height: int) -> bytes:
    """An RGB PNG of width x height with coarse stripes, compressed to a few hundred KB."""
    z = zlib.compressobj(9)
    parts = []
    for y in range(height):
        shade = (y // 500) * 37 % 256
        parts.append(z.compress(b"\x00" + bytes([shade, 255 - shade, 128]) * width))
    parts.append(z.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b"")


def test_sixteen_100_megapixel_queries_stay_within_memory(tmp_path: Path, photo_dir: Path) -> None:
    idx = tmp_path / "idx"
    out = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(photo_dir), "--index", str(idx), "-q"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    queries = tmp_path / "queries"
    queries.mkdir()
    data = striped_png(10_000, 9_999)  # 99,990,000 pixels: under the 100 MP cap
    for i in range(16):
        (queries / f"huge{i:02d}.png").write_bytes(data)
    assert Image.open(queries / "huge00.png").size == (10_000, 9_999)
    probe = (
        "import resource, runpy, sys; sys.argv = ['selfsim', 'search', '--index', sys.argv[1], sys.argv[2], "
        "'--json', '-k', '1', '-q']\n"
        "try:\n    runpy.run_module('selfsim.cli.main', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(idx), str(queries)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 16 and all(r["hits"] for r in lines)
    peak_gb = int(out.stderr.split("PEAK")[1].split()[0]) / 2**20
    print(f"peak resident memory {peak_gb:.2f} GB")
    assert peak_gb < LIMIT_GB, f"peak {peak_gb:.2f} GB"
