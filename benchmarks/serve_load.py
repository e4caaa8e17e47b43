"""`selfsim serve` under load: latency, throughput, 503s and top-1 hits at 1, 8 and 32
concurrent clients, beside the same searches through the library and the CLI.

Index: the 100 distinct real pictures of the copy-detection set (the 67 Debian wallpaper
photos from `selfsim.data.samples.photo_files()` and 33 OpenCV sample photos), indexed with
`selfsim index`. Queries: one edited copy of each indexed picture (a random crop keeping
35-75 % of the area, downscaled to at most 1024 px, saved as JPEG at quality 70-90), so every
query has one known original; a search is right when its first hit is that original.

Modes, all with k=10 and no verification:
  * HTTP: the real server (`python -m selfsim.cli.main serve --index IDX --port P -q`, its
    defaults: 2 slots, a queue of 64) as a subprocess, and 1, 8 and 32 client threads, each
    with its own keep-alive connection, sending `POST /v1/search?k=10&verify=0` (multipart
    field `image`) back to back until --requests searches were sent or --max-seconds passed.
    Latency is the client's, from sending the request to the last byte of the answer; the
    percentiles are over the 200 answers; a 503 is recorded, not retried.
  * library: `Service(IDX).search_upload(Upload(bytes, "image"), 10)`, one query at a time on
    the main thread of a new Python process (model and index loaded once, before timing).
  * CLI: `selfsim search --index IDX Q -k 10 --json -q`, one process per query for a few
    queries, then one process for the whole query folder (per-query time = wall / queries).
  The library and the folder search run twice: as they are, and with OMP_WAIT_POLICY=PASSIVE.
  PyTorch's OpenMP (libgomp) threads spin at every barrier before sleeping, unless a process
  has more OpenMP threads than cores; on a 2-core machine where other programs also run, a
  single thread computing (a script, the CLI) then waits for a descheduled spinning partner
  at each layer. The server, which computes in several worker threads, was not affected.
  * burst: 50 clients connect, wait on a barrier, then send one search each at once, to the
    default server and to one started with `--queue 8`: how many get 200, 503 (with
    Retry-After) or anything else. A 500 is a bug.

    python benchmarks/serve_load.py [--work DIR] [--requests 128] [--levels 1 8 32] [--quick] [--json]

--work DIR keeps the pictures, the index and the queries for the next run (default: a
temporary folder, removed at the end). --quick is a small smoke run (about a minute).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
import copydet_data  # noqa: E402

from selfsim.data import edits  # noqa: E402

K = 10
#: libgomp's threads (PyTorch's OpenMP) sleep at once at a barrier instead of spinning first.
PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE"}
SELFSIM = [sys.executable, "-m", "selfsim.cli.main"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------
def prepare(work: Path, pictures: int, seed: int) -> tuple[Path, list[tuple[Path, str]]]:
    """The index (made or updated with `selfsim index`) and the queries with the file name
    of their original."""
    photos = work / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    sources = copydet_data.source_pictures()[:pictures]
    names = []
    for i, src in enumerate(sources):
        dest = photos / f"{i:04d}-{src.name}"
        names.append(dest.name)
        if not dest.exists():
            shutil.copyfile(src, dest)
    idx = work / "idx"
    t0 = time.perf_counter()
    subprocess.run([*SELFSIM, "index", str(photos), "--index", str(idx), "-q"], check=True)
    log(f"index: {len(names)} pictures, `selfsim index` took {time.perf_counter() - t0:.1f} s")

    qdir = work / "queries"
    truth_file = work / "queries.json"
    truth: dict[str, str] = json.loads(truth_file.read_text()) if truth_file.exists() else {}
    if sorted(truth.values()) != sorted(names):
        shutil.rmtree(qdir, ignore_errors=True)
        qdir.mkdir()
        rng = np.random.default_rng(seed)
        truth = {}
        for name in names:
            with Image.open(photos / name) as im:
                im.draft("RGB", (2048, 2048))
                img = im.convert("RGB")
            img = edits.crop(img, rng)
            img.thumbnail((1024, 1024), Image.Resampling.BILINEAR)
            qname = f"q-{Path(name).stem}.jpg"
            img.save(qdir / qname, "JPEG", quality=int(rng.integers(70, 91)))
            truth[qname] = name
        truth_file.write_text(json.dumps(truth, indent=1))
    return idx, [(qdir / q, orig) for q, orig in sorted(truth.items())]


def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{filename}\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# -- results ------------------------------------------------------------------------
@dataclass
class Row:
    mode: str
    clients: int | str
    sent: int = 0
    ok: int = 0
    busy: int = 0  # 503
    busy_with_retry_after: int = 0
    other: dict[str, int] = field(default_factory=dict)  # status or exception name -> count
    right: int = 0  # first hit is the original (of the 200s)
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # of the 200s
    server_ms: list[float] = field(default_factory=list)  # took_ms of the 200s: slot wait + compute
    note: str = ""
    load: float = 0.0  # the machine's 1-minute load average when the mode ended

    def add_other(self, what: str) -> None:
        self.other[what] = self.other.get(what, 0) + 1

    def summary(self) -> dict[str, object]:
        d = asdict(self)
        lat = np.array(self.latencies_ms)
        d.pop("latencies_ms")
        d.pop("server_ms")
        d.update(
            p50_ms=float(np.percentile(lat, 50)) if lat.size else None,
            p99_ms=float(np.percentile(lat, 99)) if lat.size else None,
            server_p50_ms=float(np.median(self.server_ms)) if self.server_ms else None,
            searches_per_s=self.ok / self.wall_s if self.wall_s else None,
            top1=self.right / self.ok if self.ok else None,
        )
        return d


# -- HTTP ---------------------------------------------------------------------------
class Server:
    """`selfsim serve` in a subprocess on a free port; stopped on exit, whatever happens."""

    def __init__(self, idx: Path, logfile: Path, *extra: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.logfile = logfile
        self._log = open(logfile, "wb")
        self.proc = subprocess.Popen(
            [*SELFSIM, "serve", "--index", str(idx), "--port", str(self.port), "-q", *extra],
            stdout=self._log, stderr=subprocess.STDOUT)
        t0 = time.perf_counter()
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{logfile.read_text()}")
                if time.perf_counter() - t0 > 180:
                    raise RuntimeError("the server did not answer /v1/health within 180 s")
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    conn.request("GET", "/v1/health")
                    if conn.getresponse().status == 200:
                        conn.close()
                        break
                except OSError:
                    time.sleep(0.2)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - t0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def errors_logged(self) -> list[str]:
        return [line for line in self.logfile.read_text(errors="replace").splitlines()
                if "unexpected error" in line or "Traceback" in line]


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def connect(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        self.conn.connect()

    def search(self, body: bytes, ctype: str) -> tuple[int, dict[str, str], bytes]:
        if self.conn is None:
            self.connect()
        assert self.conn is not None
        try:
            self.conn.request("POST", f"/v1/search?k={K}&verify=0", body, {"Content-Type": ctype})
            resp = self.conn.getresponse()
            data = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        return resp.status, dict(resp.getheaders()), data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def record(row: Row, lock: threading.Lock, orig: str, t0: float, outcome: tuple[int, dict[str, str], bytes] | BaseException) -> None:
    dt = 1000 * (time.perf_counter() - t0)
    with lock:
        if isinstance(outcome, BaseException):
            row.add_other(type(outcome).__name__)
            return
        status, headers, data = outcome
        if status == 200:
            body = json.loads(data)
            row.ok += 1
            row.latencies_ms.append(dt)
            row.server_ms.append(float(body["took_ms"]))
            row.right += bool(body["hits"]) and Path(body["hits"][0]["path"]).name == orig
        elif status == 503:
            row.busy += 1
            retry = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
            row.busy_with_retry_after += retry.isdigit() and int(retry) >= 1
        else:
            row.add_other(str(status))


def load_level(port: int, bodies: list[tuple[bytes, str, str]], clients: int, requests: int,
               max_seconds: float) -> Row:
    """``clients`` threads send searches back to back until ``requests`` were sent or
    ``max_seconds`` passed."""
    row = Row("HTTP", clients)
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.perf_counter() + max_seconds

    def worker() -> None:
        client = Client(port)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    n = next(counter, None)
                    if n is None:
                        return
                    row.sent += 1
                body, ctype, orig = bodies[n % len(bodies)]
                t0 = time.perf_counter()
                try:
                    outcome: tuple[int, dict[str, str], bytes] | BaseException = client.search(body, ctype)
                except Exception as e:  # counted, not raised
                    outcome = e
                record(row, lock, orig, t0, outcome)
        finally:
            client.close()

    row.wall_s = run_all([threading.Thread(target=worker) for _ in range(clients)])
    if row.sent < requests:
        row.note = f"stopped at --max-seconds {max_seconds:g}"
    return row


def burst(port: int, bodies: list[tuple[bytes, str, str]], clients: int, label: str) -> Row:
    """``clients`` connections, then one search each, all released at once."""
    row = Row(f"burst, {label}", clients)
    lock = threading.Lock()
    gate = threading.Barrier(clients)

    def worker(n: int) -> None:
        client = Client(port)
        body, ctype, orig = bodies[n % len(bodies)]
        try:
            client.connect()
        except Exception as e:
            gate.wait()
            record(row, lock, orig, time.perf_counter(), e)
            return
        gate.wait()
        t0 = time.perf_counter()
        try:
            outcome: tuple[int, dict[str, str], bytes] | BaseException = client.search(body, ctype)
        except Exception as e:
            outcome = e
        finally:
            client.close()
        record(row, lock, orig, t0, outcome)

    row.sent = clients
    row.wall_s = run_all([threading.Thread(target=worker, args=(n,)) for n in range(clients)])
    return row


def run_all(threads: list[threading.Thread]) -> float:
    """Start the threads, wait for all; the wall time in seconds."""
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


# -- library and CLI ---------------------------------------------------------------
# The library loop runs in a process of its own (as a user's script would), so that this
# process, which only sends requests, never loads PyTorch.
LIBRARY = """
import json, sys, time
from pathlib import Path
from selfsim.serve.service import Service, Upload
idx, listing, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
queries = json.loads(Path(listing).read_text())
t0 = time.perf_counter()
service = Service(idx)
load_s = time.perf_counter() - t0
service.search_upload(Upload(Path(queries[0][0]).read_bytes(), "image"), k)  # warm-up
out = {"load_s": load_s, "ms": [], "right": 0}
start = time.perf_counter()
for q, orig in queries:
    data = Path(q).read_bytes()
    t = time.perf_counter()
    hits = service.search_upload(Upload(data, "image"), k)
    out["ms"].append(1000 * (time.perf_counter() - t))
    out["right"] += bool(hits) and Path(hits[0].path).name == orig
out["wall_s"] = time.perf_counter() - start
service.close()
print(json.dumps(out))
"""


def library(idx: Path, queries: list[tuple[Path, str]], work: Path, env: dict[str, str]) -> Row:
    """``Service.search_upload`` one query at a time, on the main thread of a new process."""
    listing = work / "library-queries.json"
    listing.write_text(json.dumps([[str(q), orig] for q, orig in queries]))
    label = " ".join(f"{k}={v}" for k, v in env.items())
    row = Row("library: Service.search_upload" + (f", {label}" if label else ""), 1)
    out = subprocess.run([sys.executable, "-c", LIBRARY, str(idx), str(listing), str(K)],
                         capture_output=True, text=True, env={**os.environ, **env})
    row.sent = len(queries)
    if out.returncode != 0:
        row.add_other(f"exit {out.returncode}")
        log(out.stderr)
        return row
    result = json.loads(out.stdout)
    row.ok, row.right, row.wall_s = len(result["ms"]), result["right"], result["wall_s"]
    row.latencies_ms = result["ms"]
    row.note = f"model + index load {result['load_s']:.1f} s, not timed"
    return row


def cli_single(idx: Path, queries: list[tuple[Path, str]]) -> Row:
    row = Row("CLI: one process per query", 1)
    start = time.perf_counter()
    for q, orig in queries:
        t = time.perf_counter()
        out = subprocess.run([*SELFSIM, "search", "--index", str(idx), str(q), "-k", str(K), "--json", "-q"],
                             capture_output=True, text=True)
        row.sent += 1
        if out.returncode != 0:
            row.add_other(f"exit {out.returncode}")
            continue
        row.latencies_ms.append(1000 * (time.perf_counter() - t))
        row.ok += 1
        hits = json.loads(out.stdout.splitlines()[0])["hits"]
        row.right += bool(hits) and Path(hits[0]["path"]).name == orig
    row.wall_s = time.perf_counter() - start
    row.note = "Python start-up, imports and model load in every query"
    return row


def cli_folder(idx: Path, queries: list[tuple[Path, str]], work: Path, env: dict[str, str]) -> Row:
    folder = work / "cli-queries"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for q, _ in queries:
        shutil.copy(q, folder / q.name)
    truth = {q.name: orig for q, orig in queries}
    label = " ".join(f"{k}={v}" for k, v in env.items())
    row = Row("CLI: one process, query folder" + (f", {label}" if label else ""), 1)
    t = time.perf_counter()
    out = subprocess.run([*SELFSIM, "search", "--index", str(idx), str(folder), "-k", str(K), "--json", "-q"],
                         capture_output=True, text=True, env={**os.environ, **env})
    row.wall_s = time.perf_counter() - t
    row.sent = len(queries)
    if out.returncode != 0:
        row.add_other(f"exit {out.returncode}")
        return row
    for line in out.stdout.splitlines():
        result = json.loads(line)
        row.ok += 1
        hits = result["hits"]
        row.right += bool(hits) and Path(hits[0]["path"]).name == truth[Path(result["query"]).name]
    per_query = 1000 * row.wall_s / max(1, row.ok)
    row.note = f"{per_query:.0f} ms per query, start-up included ({len(queries)} queries, {row.wall_s:.1f} s)"
    shutil.rmtree(folder)
    return row


def finished(row: Row) -> Row:
    row.load = os.getloadavg()[0]
    return row


# -- output -------------------------------------------------------------------------
def table(rows: list[Row]) -> str:
    def ms(v: object) -> str:
        return "-" if v is None else f"{v:.0f}"

    lines = ["| mode | clients | sent | 200 | 503 (Retry-After) | other | p50 ms | p99 ms | server p50 ms "
             "| searches/s | top-1 | load | note |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        s = r.summary()
        other = ", ".join(f"{k}: {v}" for k, v in sorted(r.other.items())) or "0"
        rate = "-" if s["searches_per_s"] is None else f"{s['searches_per_s']:.1f}"
        top1 = "-" if s["top1"] is None else f"{r.right}/{r.ok}"
        busy = f"{r.busy} ({r.busy_with_retry_after})" if r.busy else "0"
        lines.append(f"| {r.mode} | {r.clients} | {r.sent} | {r.ok} | {busy} | {other} | {ms(s['p50_ms'])} "
                     f"| {ms(s['p99_ms'])} | {ms(s['server_p50_ms'])} | {rate} | {top1} | {r.load:.1f} | {r.note} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, help="keep pictures, index and queries here (default: a temp dir)")
    ap.add_argument("--pictures", type=int, default=100, help="indexed pictures, one query each (at most 100)")
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients")
    ap.add_argument("--requests", type=int, default=128, help="searches sent per level")
    ap.add_argument("--max-seconds", type=float, default=120, help="longest time per level")
    ap.add_argument("--burst", type=int, default=50, help="clients of the burst check")
    ap.add_argument("--burst-queue", type=int, default=8, help="--queue of the second server of the burst check")
    ap.add_argument("--cli-single", type=int, default=5, help="queries searched one CLI process each")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="smoke run: 20 pictures, levels 1 and 4, 12 "
                    "requests, a burst of 10, one single CLI query")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object, not a table")
    args = ap.parse_args()
    if args.quick:
        args.pictures, args.levels, args.requests, args.burst, args.cli_single = 20, [1, 4], 12, 10, 1
        args.burst_queue = min(args.burst_queue, 4)

    started = time.perf_counter()
    temp = args.work is None
    work = Path(tempfile.mkdtemp(prefix="serve-load-")) if temp else args.work
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    problems: list[str] = []
    try:
        idx, queries = prepare(work, args.pictures, args.seed)
        bodies = []
        for q, orig in queries:
            body, ctype = multipart(q.read_bytes(), q.name)
            bodies.append((body, ctype, orig))
        sizes = [len(q.read_bytes()) for q, _ in queries]
        log(f"{len(queries)} queries, {np.mean(sizes) / 1024:.0f} KiB on average")

        log("library ...")
        rows.append(finished(library(idx, queries, work, {})))
        rows.append(finished(library(idx, queries, work, PASSIVE)))
        with Server(idx, work / "server.log") as server:
            log(f"server up in {server.startup_s:.1f} s on port {server.port}")
            warm = load_level(server.port, bodies, 1, 2, 60)  # first requests: lazy set-up
            log(f"warm-up: {warm.ok}/2 answered 200, {max(warm.latencies_ms, default=0):.0f} ms at most")
            for clients in args.levels:
                log(f"HTTP, {clients} clients ...")
                rows.append(finished(load_level(server.port, bodies, clients, args.requests, args.max_seconds)))
            log(f"burst of {args.burst}, default queue ...")
            rows.append(finished(burst(server.port, bodies, args.burst, "--queue 64 (default)")))
            problems += server.errors_logged()
        with Server(idx, work / "server-small-queue.log", "--queue", str(args.burst_queue)) as server:
            load_level(server.port, bodies, 1, 2, 60)
            log(f"burst of {args.burst}, --queue {args.burst_queue} ...")
            rows.append(finished(burst(server.port, bodies, args.burst, f"--queue {args.burst_queue}")))
            problems += server.errors_logged()
        log("CLI ...")
        rows.append(finished(cli_single(idx, queries[:args.cli_single])))
        rows.append(finished(cli_folder(idx, queries, work, {})))
        rows.append(finished(cli_folder(idx, queries, work, PASSIVE)))
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)
    for r in rows:
        if any(k.startswith("5") and k != "503" for k in r.other):
            problems.append(f"{r.mode}, {r.clients} clients: {r.other}")
    total = time.perf_counter() - started
    if args.json:
        print(json.dumps({"rows": [r.summary() for r in rows], "problems": problems, "seconds": total,
                          "pictures": args.pictures, "queries": len(queries), "cores": os.cpu_count()}, indent=1))
    else:
        print(f"{len(queries)} indexed pictures, {len(queries)} queries (crop + JPEG of each), k={K}, "
              f"no verification; {os.cpu_count()} cores\n")
        print(table(rows))
        print(f"\nproblems: {problems or 'none'}; whole run {total:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
