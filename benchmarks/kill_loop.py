"""Kill loop: `selfsim index` killed with SIGKILL at random moments never breaks the index.

A folder of distinct small pictures (PNG, JPEG, WebP) is indexed by the command as
users run it, and the run is killed (SIGKILL to its whole process group) at a random
moment: during Python start-up and model loading, or while it embeds. After each
kill the index must open, its vector store must hold exactly the catalog's ids,
every record must match its file, and no image that an earlier check saw in the
catalog may be gone. The next run resumes. At the end a run to completion must
index every picture, and each picture must be its own top hit in `selfsim search`.

Kill moments are drawn uniformly between 1 s and the expected length of the run:
start-up (an index run with nothing to do) plus the remaining images times the
time per image, both measured first on a scratch index (and start-up lowered
whenever a run ends sooner). Runs that end before their kill moment are checked too, and the loop goes on until ``--kills`` runs were killed
(at most three times as many runs).

    python benchmarks/kill_loop.py [--kills 20] [--images 300] [--seed 0] [--out bench-out/kill-loop]

Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from selfsim.data.files import file_sha256
from selfsim.index import Index

FORMATS = ("png", "jpg", "webp")


def make_picture(seed: int, size: tuple[int, int]) -> Image.Image:
    """A distinct, textured synthetic picture (the same recipe as tests/conftest.py)."""
    rng = np.random.default_rng(seed)
    w, h = size
    low = rng.uniform(0, 255, size=(6, 8, 3)).astype(np.uint8)
    img = Image.fromarray(low).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(15, w // 2)), y0 + int(rng.integers(15, h // 2))
        fill = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    return img


def write_pictures(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` distinct pictures of 96 to 200 px a side, PNG, JPEG and WebP in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = []
    for i in range(n):
        w, h = (int(s) for s in rng.integers(96, 201, size=2))
        path = folder / f"{i:04d}.{FORMATS[i % len(FORMATS)]}"
        make_picture(seed * 100_003 + i, (w, h)).save(path)
        files.append(path)
    return files


def selfsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "selfsim.cli.main", *args]


def index_to_end(folder: Path, index: Path) -> float:
    """Run `selfsim index` to completion; returns its wall time in seconds."""
    t0 = time.perf_counter()
    subprocess.run(selfsim("index", str(folder), "--index", str(index), "-q"),
                   check=True, capture_output=True, text=True, timeout=900)
    return time.perf_counter() - t0


@dataclass(frozen=True)
class Timing:
    """How long `selfsim index` takes here: fixed start-up cost plus time per image."""

    startup: float
    per_image: float

    def expected(self, remaining: int) -> float:
        return self.startup + remaining * self.per_image


def measure(folder: Path, scratch: Path, n: int) -> Timing:
    shutil.rmtree(scratch, ignore_errors=True)
    full = index_to_end(folder, scratch)
    startup = index_to_end(folder, scratch)  # nothing left to embed
    shutil.rmtree(scratch, ignore_errors=True)
    return Timing(startup, max(0.0, full - startup) / n)


@dataclass(frozen=True)
class IndexCheck:
    """What one look at the index found; ``problem`` is None when it is consistent."""

    paths: frozenset[str]
    problem: str | None


def check_index(index_dir: Path) -> IndexCheck:
    """Open the index as a reader and compare its store, catalog and files."""
    if not (index_dir / "catalog.sqlite").exists():
        return IndexCheck(frozenset(), None)  # killed before the index was created
    try:
        with Index.open(index_dir) as index:
            records = index.records()
            store = index.store
            ids = np.array([r.id for r in records], dtype=np.int64)
            if len(store) != len(records):
                return IndexCheck(frozenset(), f"store holds {len(store)} vectors, catalog {len(records)}")
            if len(ids):
                # Every catalog id has a vector; with equal counts the id sets are equal.
                xb = store.reconstruct(ids)
                _, I = store.search(xb, 1)
                if not np.array_equal(I[:, 0], ids):
                    bad = int(np.sum(I[:, 0] != ids))
                    return IndexCheck(frozenset(), f"{bad} stored vectors are not their own top hit")
            for r in records:
                if not Path(r.path).is_file() or file_sha256(r.path) != r.sha256:
                    return IndexCheck(frozenset(), f"record {r.id} does not match its file {r.path}")
            return IndexCheck(frozenset(r.path for r in records), None)
    except Exception as e:  # anything at all is an inconsistent index
        return IndexCheck(frozenset(), f"{type(e).__name__}: {e}")


@dataclass(frozen=True)
class RunEnd:
    killed: bool  # still going at the kill moment
    status: int | None  # exit status when it ended first
    seconds: float  # how long it ran
    survivors: bool  # a process of its group outlived the kill


def kill_run_at(folder: Path, index_dir: Path, delay: float, log: Path) -> RunEnd:
    """Start `selfsim index` and SIGKILL its process group after ``delay`` seconds."""
    t0 = time.perf_counter()
    with open(log, "wb") as err:
        proc = subprocess.Popen(selfsim("index", str(folder), "--index", str(index_dir), "-q"),
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            status = proc.wait(timeout=delay)
            return RunEnd(False, status, time.perf_counter() - t0, False)
        except subprocess.TimeoutExpired:
            pass
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    seconds = time.perf_counter() - t0
    time.sleep(0.05)
    try:
        os.killpg(proc.pid, 0)  # anyone left in the group?
        os.killpg(proc.pid, signal.SIGKILL)
        return RunEnd(True, None, seconds, True)
    except ProcessLookupError:
        return RunEnd(True, None, seconds, False)


@dataclass(frozen=True)
class KillRow:
    delay: float
    killed: bool
    before: int
    after: int
    problem: str | None
    lost: int


@dataclass
class KillLoopResult:
    images: int
    timing: Timing
    rows: list[KillRow] = field(default_factory=list)
    survivors: int = 0
    final_problem: str | None = None
    self_hits: int = 0

    @property
    def kills(self) -> int:
        return sum(r.killed for r in self.rows)

    @property
    def inconsistent(self) -> int:
        return sum(r.problem is not None for r in self.rows)

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.rows)

    @property
    def indexed_per_kill(self) -> float:
        killed = [r for r in self.rows if r.killed]
        return sum(r.after - r.before for r in killed) / max(1, len(killed))

    @property
    def ok(self) -> bool:
        return (self.inconsistent == 0 and self.lost == 0 and self.survivors == 0
                and self.final_problem is None and self.self_hits == self.images)


def final_check(folder: Path, index_dir: Path, n: int) -> tuple[str | None, int]:
    """Index to the end, then search every picture; returns (problem, own top hits)."""
    try:
        index_to_end(folder, index_dir)
    except subprocess.CalledProcessError as e:
        return f"final run failed with status {e.returncode}: {e.stderr.strip()[-300:]}", 0
    check = check_index(index_dir)
    if check.problem is not None:
        return check.problem, 0
    if len(check.paths) != n:
        return f"final index holds {len(check.paths)} of {n} pictures", 0
    out = subprocess.run(selfsim("search", "--index", str(index_dir), str(folder), "--json", "-k", "1", "-q"),
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return f"search failed with status {out.returncode}: {out.stderr.strip()[-300:]}", 0
    hits = 0
    for line in out.stdout.splitlines():
        r = json.loads(line)
        hits += bool(r["hits"]) and Path(r["hits"][0]["path"]) == Path(r["query"]).resolve()
    return (None if hits == n else f"{n - hits} pictures are not their own top hit"), hits


def kill_loop(
    out: Path, images: int, kills: int, seed: int = 0, timing: Timing | None = None, verbose: bool = False
) -> KillLoopResult:
    """The whole experiment, in ``out`` (pictures, logs and the index).

    Args:
        timing: how long runs take; measured first when None.
    """
    folder, index_dir = out / "pictures", out / "index"
    shutil.rmtree(out, ignore_errors=True)
    write_pictures(folder, images, seed)
    timing = timing or measure(folder, out / "scratch-index", images)
    result = KillLoopResult(images, timing)
    if verbose:
        print(f"full run {timing.expected(images):.1f}s: start-up {timing.startup:.1f}s "
              f"+ {timing.per_image * 1000:.0f} ms per image\n")
        print(f"{'kill':>4}  {'at (s)':>6}  {'outcome':<14}  {'indexed':>11}  check")
    rng = random.Random(seed)
    acknowledged: frozenset[str] = frozenset()
    k = 0
    while result.kills < kills and k < 3 * kills:  # a run that ends first is no kill: go on
        k += 1
        remaining = images - len(acknowledged)
        delay = rng.uniform(1.0, max(1.5, timing.expected(remaining)))
        end = kill_run_at(folder, index_dir, delay, out / f"kill-{k:02d}.log")
        killed, status = end.killed, end.status
        result.survivors += end.survivors
        if not killed:  # start-up was quicker than measured (the machine is less busy now)
            timing = Timing(min(timing.startup, max(1.5, end.seconds - remaining * timing.per_image)),
                            timing.per_image)
        check = check_index(index_dir)
        problem = check.problem
        if status not in (None, 0):
            problem = f"run exited with status {status} before the kill (see kill-{k:02d}.log)"
        lost = len(acknowledged - check.paths) if check.problem is None else 0
        row = KillRow(delay, killed, len(acknowledged), len(check.paths), problem, lost)
        result.rows.append(row)
        if check.problem is None:
            acknowledged |= check.paths
        if verbose:
            outcome = "killed" if killed else f"ended first ({status})"
            verdict = problem or (f"LOST {lost}" if lost else "ok")
            print(f"{k:>4}  {delay:>6.1f}  {outcome:<14}  {row.before:>4} -> {row.after:>4}  {verdict}",
                  flush=True)
    result.final_problem, result.self_hits = final_check(folder, index_dir, images)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20, help="runs to kill with SIGKILL (default: %(default)s)")
    ap.add_argument("--images", type=int, default=300, help="pictures to index (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="pictures and kill moments (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/kill-loop"))
    args = ap.parse_args()
    import torch

    print(f"{args.images} pictures (PNG, JPEG, WebP, 96-200 px), {args.kills} kills, seed {args.seed}; "
          f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {platform.machine()}")
    t0 = time.perf_counter()
    r = kill_loop(args.out, args.images, args.kills, args.seed, verbose=True)
    print(f"\nkills (SIGKILL while running)    {r.kills} of {len(r.rows)} runs")
    print(f"inconsistent indexes             {r.inconsistent}")
    print(f"acknowledged images lost         {r.lost}")
    print(f"processes outliving the kill     {r.survivors}")
    print(f"images indexed per kill          {r.indexed_per_kill:.1f}")
    print(f"final run + search               {r.final_problem or 'ok'}: "
          f"{r.self_hits}/{r.images} pictures are their own top hit")
    print(f"total time                       {time.perf_counter() - t0:.0f}s")
    sys.exit(0 if r.ok else 1)


if __name__ == "__main__":
    main()
