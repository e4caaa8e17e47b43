"""Huge queries: sixteen 100-megapixel PNGs (309 KB on disk each) are searched in one
batch within a bounded amount of memory, because each query is shrunk to what the
model needs as soon as it is decoded (the old reader held all sixteen at full size)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from query_memory import PROBE, striped_png  # noqa: E402

pytestmark = pytest.mark.slow

#: Peak resident memory allowed for the whole search process (torch itself takes ~0.6 GB;
#: the old reader needed 9 GB for eight such queries).
LIMIT_GB = 3.0


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
    out = subprocess.run([sys.executable, "-c", PROBE, str(idx), str(queries)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 16 and all(r["hits"] for r in lines)
    peak_gb = int(out.stderr.split("PEAK")[1].split()[0]) / 2**20
    assert peak_gb < LIMIT_GB, f"peak {peak_gb:.2f} GB"
