"""`selfsim index` killed with SIGKILL at random moments: the index stays consistent.

A short run of ``benchmarks/kill_loop.py`` (which holds the loop and the checks);
the benchmark itself runs 20 kills over 300 pictures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from kill_loop import Timing, kill_loop  # noqa: E402


@pytest.mark.slow
def test_sigkill_at_random_moments_keeps_the_index_consistent(tmp_path: Path) -> None:
    # A guess at this machine's speed instead of measuring it (which costs two full runs):
    # kills land between 1 s and about the end of a run, in start-up or while embedding.
    timing = Timing(startup=6.0, per_image=0.1)
    r = kill_loop(tmp_path / "kills", images=40, kills=5, seed=1, timing=timing)
    problems = [(i, row.problem) for i, row in enumerate(r.rows, 1) if row.problem]
    assert problems == []
    assert r.lost == 0, "an image seen in the catalog after a kill was gone later"
    assert r.survivors == 0
    assert r.kills == 5
    assert r.final_problem is None
    assert r.self_hits == 40
