"""`selfsim index` killed with SIGKILL at random moments while the folder changes: the
index stays consistent and loses nothing it acknowledged.

A short run of ``benchmarks/kill_loop.py`` (which holds the loop, the folder changes and
the checks); the benchmark itself runs 20 kills over 300 pictures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from kill_loop import Timing, kill_loop  # noqa: E402


@pytest.mark.slow
def test_sigkill_at_random_moments_while_the_folder_changes_keeps_the_index_consistent(tmp_path: Path) -> None:
    # A guess at this machine's speed instead of measuring it (which costs two full runs);
    # the loop corrects the start-up from when each run's progress bar comes up.
    timing = Timing(startup=6.0, per_image=0.1)
    r = kill_loop(tmp_path / "kills", images=40, kills=4, seed=3, timing=timing)
    problems = [(i, row.problem) for i, row in enumerate(r.rows, 1) if row.problem]
    assert problems == []
    assert r.lost == 0, "an image seen in the catalog after a kill was gone later"
    assert r.staged_lost == 0, "a --rebuild did not continue from what an interrupted one staged"
    assert r.survivors == 0
    assert r.kills == 4
    c = r.changes
    assert c.added > 0 and c.replaced > 0 and c.deleted > 0 and c.moved > 0, "every kind of change happened"
    assert any(row.rebuild for row in r.rows), "seed 3 makes runs 2 to 4 --rebuild"
    assert r.rebuild_problem is None, "finishing an interrupted --rebuild"
    assert r.final_problem is None
    assert r.self_hits == r.pictures == 40 + c.added - c.deleted
