"""One writer and several readers of one index, in separate processes, at the same time.

The writer keeps replacing and adding pictures and re-running `selfsim index`;
three readers keep running `selfsim search --json` over a folder of 20 queries.
Every search must succeed.
Each process runs the CLI's ``main`` in a loop (a fresh index open and model load
per command, as in a new process) so that the torch import is paid once per
process, not once per search.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402

N_PICTURES = 40
N_READERS = 3
# More than one batch of the searcher (16): while the second batch is embedded, the
# vector store stays as it was loaded for the first, and the writer keeps committing.
N_QUERIES = 20
SEARCHES_PER_READER = 17  # 51 in all
HARD_LIMIT_S = 200  # every process stops by itself after this long

# run(argv) runs one CLI command in this process and prints one JSON line:
# {"status", "stdout", "stderr"}, stderr with the traceback of any exception.
_RUN_CLI = """
import contextlib, io, json, sys, traceback

import torch

from selfsim.cli.main import main

torch.set_num_threads(1)  # five processes share a few cores


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    except BaseException:
        status = "exception"
        err.write(traceback.format_exc())
    print(json.dumps({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}), flush=True)
"""

READER = _RUN_CLI + """
import time

index, queries, need, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
for _ in range(need):
    if time.time() > stop_at:
        break
    run(["search", "--index", index, queries, "--json", "-k", "3", "-q", "--no-flip", "--center-crop", "0"])
"""

# Each round replaces 4 pictures with others (new content, new mtime) and adds 2,
# writing each file under a hidden name first so that no run sees half a file, then
# indexes with --batch-size 1: one commit per picture.
WRITER = _RUN_CLI + """
import itertools, os, shutil, time
from pathlib import Path

index, folder, pool, stop_file, stop_at = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5])
spare = itertools.cycle(sorted(pool.iterdir()))
added = 0
for round in itertools.count():
    if stop_file.exists() or time.time() > stop_at:
        break
    names = [f"{(round * 4 + j) % 40:03d}.png" for j in range(4)] + [f"new-{added + j:03d}.png" for j in range(2)]
    added += 2
    for name in names:
        tmp = folder / f".{name}.tmp"
        shutil.copyfile(next(spare), tmp)
        now = time.time_ns()
        os.utime(tmp, ns=(now, now))
        os.replace(tmp, folder / name)
    run(["index", str(folder), "--index", index, "--batch-size", "1", "-q"])
"""


def _start(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str], stop_at: float) -> list[dict]:
    try:
        out, err = proc.communicate(timeout=max(1.0, stop_at - time.time() + 60))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    return [json.loads(line) for line in out.splitlines()]


def _failure(r: dict) -> str | None:
    """Why one command's result is wrong, or None."""
    if r["status"] != 0 or "Traceback" in r["stderr"]:
        return f"status {r['status']}: {r['stderr'].strip()[-1500:]}"
    return None


def _search_failure(r: dict) -> str | None:
    failed = _failure(r)
    if failed is not None:
        return failed
    lines = r["stdout"].splitlines()
    if len(lines) != N_QUERIES:
        return f"expected {N_QUERIES} JSON lines, got {r['stdout']!r}"
    for line in lines:
        hits = json.loads(line).get("hits")
        if not isinstance(hits, list) or len(hits) != 3 or not all(h.get("path") for h in hits):
            return f"bad hit list: {line}"
    return None


@pytest.mark.slow
def test_searches_succeed_while_the_index_is_rewritten(tmp_path: Path) -> None:
    folder, queries, pool = tmp_path / "pictures", tmp_path / "queries", tmp_path / "pool"
    for d in (folder, queries, pool):
        d.mkdir()
    for i in range(N_PICTURES):
        make_picture(i, (128, 96)).save(folder / f"{i:03d}.png")
        if i < N_QUERIES:  # outside the index: never rewritten
            make_picture(i, (128, 96)).save(queries / f"{i:03d}.png")
    for i in range(60):
        make_picture(1000 + i, (128, 96)).save(pool / f"{i:03d}.png")
    index = tmp_path / "idx"
    first = subprocess.run([sys.executable, "-m", "selfsim.cli.main", "index", str(folder), "--index", str(index), "-q"],
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr

    stop_at = time.time() + HARD_LIMIT_S
    stop_file = tmp_path / "stop"
    writer = _start(WRITER, index, folder, pool, stop_file, stop_at)
    readers = [_start(READER, index, queries, SEARCHES_PER_READER, stop_at) for _ in range(N_READERS)]
    searches = [r for p in readers for r in _finish(p, stop_at)]
    stop_file.touch()
    writes = _finish(writer, stop_at)

    failures = [f for f in map(_search_failure, searches) if f]
    kinds = Counter(f.strip().splitlines()[-1].split(":")[0] for f in failures)
    assert failures == [], (f"{len(failures)} of {len(searches)} searches failed ({dict(kinds)}); "
                            f"first:\n{failures[0]}")
    assert [f for f in map(_failure, writes) if f] == []
    assert len(searches) >= 50, f"only {len(searches)} searches before the time limit"
    assert len(writes) >= 2, "the writer did not overlap the readers"
