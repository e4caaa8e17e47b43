"""Kill loop: `selfsim index` killed with SIGKILL at random moments never breaks the index.

A folder of distinct small pictures (PNG, JPEG, WebP, in a few subfolders) is indexed
by the command as users run it (``--batch-size 8``, so commits are frequent), and the
run is killed (SIGKILL to its whole process group) at a random moment. The folder
changes between runs, as folders do, so that every run has real work: before each run
(after the check of the previous one) about 8% new pictures are added, 4% of the
existing ones get new content (written under a temporary name, then ``os.replace``),
2% are deleted (at most a third of the pictures in all, so that selfsim's rule against
dropping more than half of a folder at once is never what is tested), and every few
runs a subfolder is renamed (selfsim keeps the vectors of moved files). About a fifth
of the runs are ``--rebuild`` (re-embed beside the old index in ``INDEX/.rebuild``,
swapped in when complete).

Kill moments: 80% fall inside the run's embedding phase (between the start-up, measured
first and then observed, and the expected end: start-up plus the pictures the run must
embed times the time per image), the rest anywhere from 0.5 s to the expected end. Runs
write their progress bar to a pseudo-terminal, so the log of each run (``run-NN.log``)
shows whether it had started embedding when it was killed, and how far it got.

After each run the index is opened as a reader and checked:

* its vector store holds exactly the catalog's ids, each stored vector its own top hit;
* every record whose file exists with the size and mtime recorded has the recorded
  sha256 (a record never lies about a file it claims unchanged), and every record names
  a path and content that the folder really held at some point;
* no acknowledged image is lost: a path seen in the catalog at an earlier check whose
  file still exists (with that content or newer) must still be in the catalog; if its
  folder was renamed since, under the old path, the new one or one in between. Deleted files may go;
* a killed ``--rebuild`` left the old catalog exactly as it was (or swapped in the
  complete new one), and its staging index in ``.rebuild`` is consistent too and keeps
  what it staged for the next ``--rebuild`` to continue from;
* a run that ended by itself (status 0) left the catalog equal to the folder.

The loop goes on until ``--kills`` runs were killed (at most three times as many runs).
If an interrupted ``--rebuild`` is left, the folder changes and one runs to the end: it
must swap in exactly the folder's pictures and remove ``.rebuild``. At the end the
folder changes once more and a run to completion must make the catalog
exactly the folder's pictures (paths and sha256), each picture its own top hit in
`selfsim search --json -k 1`.

    python benchmarks/kill_loop.py [--kills 20] [--images 300] [--seed 0] [--out bench-out/kill-loop]

Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import random
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from selfsim.data.files import file_sha256

sys.path.insert(0, str(Path(__file__).parent))
from changing_folder import SUBFOLDERS, Changes, Folder  # noqa: E402
from index_checks import IndexCheck, check_index, lost, matches_folder  # noqa: E402

BATCH_SIZE = 8
REBUILD_SHARE = 0.2  # of the runs
IN_EMBEDDING_SHARE = 0.8  # of the kill moments
STAGING = ".rebuild"


def selfsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "selfsim.cli.main", *args]


def index_args(folder: Path, index: Path, rebuild: bool = False) -> list[str]:
    return ["index", str(folder), "--index", str(index), "--batch-size", str(BATCH_SIZE)] + (
        ["--rebuild"] if rebuild else []
    )


def index_to_end(folder: Path, index: Path) -> float:
    """Run `selfsim index` to completion; returns its wall time in seconds."""
    t0 = time.perf_counter()
    subprocess.run(selfsim(*index_args(folder, index), "-q"),
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


_BAR = re.compile(rb"embedding:\s*\d+%\|[^|\r\n]*\|\s*(\d+)/(\d+)")


@dataclass(frozen=True)
class RunEnd:
    killed: bool  # still going at the kill moment
    status: int | None  # exit status when it ended first
    seconds: float  # how long it ran
    survivors: bool  # a process of its group outlived the kill
    embedding_at: float | None  # when its progress bar appeared with work to do (s from start)
    progress: tuple[int, int] | None  # files handled / to handle, as the bar last showed


def kill_run_at(args: list[str], delay: float, log: Path) -> RunEnd:
    """Start `selfsim ARGS` and SIGKILL its process group after ``delay`` seconds.

    Its stderr is a pseudo-terminal, so that it draws its progress bar (copied to ``log``).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    seen: dict[str, object] = {}
    t0 = time.perf_counter()

    def read() -> None:
        tail = b""
        with open(log, "wb") as f:
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every process holding the terminal is gone
                    break
                if not data:
                    break
                f.write(data)
                tail = (tail + data)[-4096:]
                bars = _BAR.findall(tail)
                if bars:
                    n, total = (int(x) for x in bars[-1])
                    seen["progress"] = (n, total)
                    if total > 0 and "embedding_at" not in seen:
                        seen["embedding_at"] = time.perf_counter() - t0

    reader = threading.Thread(target=read, daemon=True)
    try:
        proc = subprocess.Popen(selfsim(*args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    reader.start()
    killed, status, survivors = True, None, False
    try:
        status = proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    seconds = time.perf_counter() - t0
    if killed:
        time.sleep(0.05)
        try:
            os.killpg(proc.pid, 0)  # anyone left in the group?
            os.killpg(proc.pid, signal.SIGKILL)
            survivors = True
        except ProcessLookupError:
            pass
    reader.join(timeout=10)
    os.close(master)
    embedding_at = seen.get("embedding_at")
    return RunEnd(killed, status, seconds, survivors,
                  embedding_at if isinstance(embedding_at, float) else None,
                  seen.get("progress"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class KillRow:
    rebuild: bool
    changes: Changes
    delay: float
    killed: bool
    embedding: bool  # it had started embedding (its progress bar was up)
    progress: tuple[int, int] | None
    before: int
    after: int
    staged: int | None  # images in .rebuild after the run
    problem: str | None
    lost: int
    staged_lost: int


@dataclass
class KillLoopResult:
    images: int
    timing: Timing
    rows: list[KillRow] = field(default_factory=list)
    survivors: int = 0
    changes: Changes = field(default_factory=Changes)
    pictures: int = 0  # in the folder at the end
    rebuild_finished: bool = False  # an interrupted --rebuild was left and run to the end
    rebuild_problem: str | None = None  # what finishing it found
    final_problem: str | None = None
    self_hits: int = 0

    @property
    def kills(self) -> int:
        return sum(r.killed for r in self.rows)

    @property
    def kills_embedding(self) -> int:
        return sum(r.killed and r.embedding for r in self.rows)

    @property
    def rebuild_kills(self) -> int:
        return sum(r.killed and r.rebuild for r in self.rows)

    @property
    def inconsistent(self) -> int:
        return sum(r.problem is not None for r in self.rows)

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.rows)

    @property
    def staged_lost(self) -> int:
        return sum(r.staged_lost for r in self.rows)

    @property
    def handled_per_kill(self) -> float:
        """Files a killed run had handled (hashed or embedded) by its progress bar."""
        killed = [r for r in self.rows if r.killed]
        return sum(r.progress[0] if r.progress else 0 for r in killed) / max(1, len(killed))

    @property
    def ok(self) -> bool:
        return (self.inconsistent == 0 and self.lost == 0 and self.staged_lost == 0 and self.survivors == 0
                and self.rebuild_problem is None and self.final_problem is None
                and self.self_hits == self.pictures)


def final_check(folder: Folder, index_dir: Path) -> tuple[str | None, int]:
    """Index to the end, then search every picture; returns (problem, own top hits)."""
    try:
        index_to_end(folder.root, index_dir)
    except subprocess.CalledProcessError as e:
        return f"final run failed with status {e.returncode}: {e.stderr.strip()[-300:]}", 0
    check = check_index(index_dir, folder.history)
    problem = check.problem or matches_folder(check, folder)
    if problem is None:
        files = {str(p.resolve()) for p in folder.root.rglob("*") if p.is_file()}
        bad = [p for p, sha in folder.disk.items() if p not in files or file_sha256(p) != sha]
        if bad or files != folder.disk.keys():
            problem = f"the folder is not what the loop wrote ({len(bad)} files differ, {len(files)} files)"
    if problem is not None:
        return problem, 0
    out = subprocess.run(selfsim("search", "--index", str(index_dir), str(folder.root), "--json", "-k", "1", "-q"),
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return f"search failed with status {out.returncode}: {out.stderr.strip()[-300:]}", 0
    hits = 0
    for line in out.stdout.splitlines():
        r = json.loads(line)
        hits += bool(r["hits"]) and Path(r["hits"][0]["path"]) == Path(r["query"]).resolve()
    n = len(folder.disk)
    return (None if hits == n else f"{n - hits} pictures are not their own top hit"), hits


def finish_rebuild(folder: Folder, index_dir: Path) -> str | None:
    """Run `selfsim index --rebuild` to the end: it must continue from the staging index,
    swap the complete new collection in and remove the staging folder."""
    try:
        subprocess.run(selfsim(*index_args(folder.root, index_dir, rebuild=True), "-q"),
                       check=True, capture_output=True, text=True, timeout=900)
    except subprocess.CalledProcessError as e:
        return f"--rebuild failed with status {e.returncode}: {e.stderr.strip()[-300:]}"
    if (index_dir / STAGING).exists():
        return f"{index_dir / STAGING} is still there after a complete --rebuild"
    check = check_index(index_dir, folder.history)
    return check.problem or matches_folder(check, folder)


def kill_loop(
    out: Path, images: int, kills: int, seed: int = 0, timing: Timing | None = None, verbose: bool = False
) -> KillLoopResult:
    """The whole experiment, in ``out`` (pictures, logs and the index).

    Args:
        timing: how long runs take; measured first when None.
    """
    index_dir = out / "index"
    staging = index_dir / STAGING
    shutil.rmtree(out, ignore_errors=True)
    folder = Folder(out / "pictures", images, seed)
    timing = timing or measure(folder.root, out / "scratch-index", images)
    result = KillLoopResult(images, timing)
    if verbose:
        print(f"full run {timing.expected(images):.1f}s: start-up {timing.startup:.1f}s "
              f"+ {timing.per_image * 1000:.0f} ms per image\n")
        print(f"{'run':>3}  {'mode':<7}  {'changes':<16}  {'at (s)':>6}  {'outcome':<24}  "
              f"{'catalog':>11}  {'staged':>6}  check")
    rng = random.Random(seed)  # folder changes and kill moments
    modes = random.Random(seed * 7919 + 1)  # which runs are --rebuild (whatever the timing)
    startups: list[float] = []  # observed: when the progress bar came up
    current = IndexCheck({}, None)  # the catalog as the last check saw it
    current_staged = IndexCheck({}, None)
    acknowledged: set[str] = set()
    acknowledged_staged: set[str] = set()
    last_ok = True  # ``current`` is the catalog as the next run finds it
    k = 0
    while result.kills < kills and k < 3 * kills:  # a run that ends first is no kill: go on
        k += 1
        changes = folder.change(rng, k) if k > 1 else Changes()
        rebuild = k > 1 and modes.random() < REBUILD_SHARE
        known = current_staged.shas if rebuild else current.shas
        work = sum(sha not in known for sha in folder.disk.values())
        startup = statistics.median(startups[-5:]) if startups else timing.startup
        end = startup + max(0.5, work * timing.per_image)
        if rng.random() < IN_EMBEDDING_SHARE:
            delay = rng.uniform(startup, end)
        else:
            delay = rng.uniform(0.5, end)
        log = out / f"run-{k:02d}.log"
        run = kill_run_at(index_args(folder.root, index_dir, rebuild), delay, log)
        result.survivors += run.survivors
        if run.embedding_at is not None:
            startups.append(run.embedding_at)
        elif not run.killed:  # ended before its bar came up: start-up was quicker than thought
            startups.append(max(0.5, run.seconds - work * timing.per_image))

        check = check_index(index_dir, folder.history)
        problem = check.problem
        if run.status not in (None, 0):
            problem = f"run exited with status {run.status} before the kill (see {log.name})"
        elif problem is None and rebuild and run.killed and last_ok and check.records != current.records:
            swapped = matches_folder(check, folder)
            if swapped is not None:
                problem = f"a killed --rebuild changed the old catalog without swapping in the new one: {swapped}"
        elif problem is None and not run.killed:
            problem = matches_folder(check, folder)
        n_lost = 0
        if check.problem is None:
            gone = lost(acknowledged, check.paths, folder)
            n_lost = len(gone)
            if gone and problem is None:
                problem = f"LOST {n_lost}, e.g. {gone[0]}"
            acknowledged |= check.paths

        # The staging index of --rebuild: consistent, and what it staged stays for the next one.
        swapped_in = rebuild and check.problem is None and (
            run.status == 0 or (last_ok and check.records != current.records))
        staged_check = check_index(staging, folder.history) if (staging / "catalog.sqlite").is_file() \
            else IndexCheck({}, None)
        n_staged_lost = 0
        if staged_check.problem is not None:
            problem = problem or f"staging index: {staged_check.problem}"
        elif swapped_in:
            acknowledged_staged = set()  # the rebuild finished: what it staged is the index now
        else:
            gone = lost(acknowledged_staged, staged_check.paths, folder)
            n_staged_lost = len(gone)
            if gone and problem is None:
                problem = f"--rebuild did not continue: {n_staged_lost} staged images gone, e.g. {gone[0]}"
        if staged_check.problem is None:
            acknowledged_staged |= staged_check.paths
            current_staged = staged_check

        staged_now = len(staged_check.records) if (staging / "catalog.sqlite").is_file() else None
        row = KillRow(rebuild, changes, delay, run.killed, run.killed and run.embedding_at is not None,
                      run.progress, len(current.records), len(check.records), staged_now, problem,
                      n_lost, n_staged_lost)
        result.rows.append(row)
        last_ok = check.problem is None
        if last_ok:
            current = check
        if verbose:
            if run.killed:
                where = f"{run.progress[0]}/{run.progress[1]}" if run.progress else ""
                outcome = f"killed embedding {where}" if row.embedding else "killed in start-up"
            else:
                outcome = f"ended first ({run.status})"
            staged = "" if staged_now is None else str(staged_now)
            print(f"{k:>3}  {'rebuild' if rebuild else 'index':<7}  {changes.short():<16}  {delay:>6.1f}  "
                  f"{outcome:<24}  {row.before:>4} -> {row.after:>4}  {staged:>6}  {problem or 'ok'}", flush=True)
    if (staging / "catalog.sqlite").is_file():  # an interrupted --rebuild is left: finish it
        k += 1
        changes = folder.change(rng, k)
        result.rebuild_finished = True
        result.rebuild_problem = finish_rebuild(folder, index_dir)
        if verbose:
            print(f"fin  rebuild  {changes.short():<16}  (run to the end)  {result.rebuild_problem or 'ok'}")
    changes = folder.change(rng, k + 1)
    if verbose:
        print(f"fin  index    {changes.short():<16}  (run to the end)")
    result.changes = folder.total
    result.pictures = len(folder.disk)
    result.final_problem, result.self_hits = final_check(folder, index_dir)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20, help="runs to kill with SIGKILL (default: %(default)s)")
    ap.add_argument("--images", type=int, default=300, help="pictures to start with (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="pictures, changes and kill moments (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/kill-loop"))
    args = ap.parse_args()
    import torch

    print(f"{args.images} pictures (PNG, JPEG, WebP, 96-200 px, {SUBFOLDERS} subfolders), {args.kills} kills, "
          f"seed {args.seed}, --batch-size {BATCH_SIZE}; {os.cpu_count()} CPU cores, torch {torch.__version__}, "
          f"{platform.machine()}")
    t0 = time.perf_counter()
    r = kill_loop(args.out, args.images, args.kills, args.seed, verbose=True)
    c = r.changes
    print(f"\nkills (SIGKILL while running)    {r.kills} of {len(r.rows)} runs ({r.rebuild_kills} of them --rebuild)")
    print(f"kills while embedding            {r.kills_embedding} of {r.kills} "
          f"({100 * r.kills_embedding / max(1, r.kills):.0f}%, progress bar up at the kill)")
    print(f"inconsistent indexes             {r.inconsistent}")
    print(f"acknowledged images lost         {r.lost}")
    print(f"staged images lost (--rebuild)   {r.staged_lost}")
    print(f"processes outliving the kill     {r.survivors}")
    print(f"files handled per killed run     {r.handled_per_kill:.1f}")
    print(f"folder changes                   {c.added} added, {c.replaced} replaced, {c.deleted} deleted, "
          f"{c.moved} moved ({c.renames} folder renames); {r.pictures} pictures at the end")
    print(f"finishing the last --rebuild     "
          f"{(r.rebuild_problem or 'ok') if r.rebuild_finished else 'none was left interrupted'}")
    print(f"final run + search               {r.final_problem or 'ok'}: "
          f"{r.self_hits}/{r.pictures} pictures are their own top hit")
    print(f"total time                       {time.perf_counter() - t0:.0f}s")
    sys.exit(0 if r.ok else 1)


if __name__ == "__main__":
    main()
