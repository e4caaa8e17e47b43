"""Batch embedding on Ray Data (``selfsim index DIR --engine ray``).

The files to embed are read, hashed and decoded in parallel Ray tasks, and embedded
in a pool of actors that each load the model once (CPU actors, or GPU actors with
``gpus_per_actor``). Results stream back to this process, which writes the index in
batches exactly as the local path does (the same skipped-file report, the same
commits), so an index filled on Ray answers as one filled here. Without an address,
a local Ray runtime is started; with one (``ray://HOST:10001`` or ``auto``), the
work runs on that cluster, which must see the files at the same paths.

Decoding failures are results (a skipped file with its reason), never lost rows; a
task that dies is retried by Ray, and a dataset that fails stops the command with
one line (the batches written so far stay).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from selfsim.errors import SelfsimError
from selfsim.index.ingest import (
    Engine,
    Prepared,
    PrepareResult,
    SkippedFile,
    Todo,
    Unchanged,
    prepare_file,
)
from selfsim.models.config import EncoderConfig
from selfsim.models.embedder import Embedder

log = logging.getLogger(__name__)

#: Rows per embedding call in an actor.
BATCH = 32
#: CPUs a decoding task asks Ray for.
DECODE_CPUS = 0.5
#: Tries at starting a local Ray runtime (each may time out after Ray's fixed 30 s).
LOCAL_START_ATTEMPTS = 2
_KINDS = {"embed": 0, "reuse": 1, "same": 2, "skip": 3}


def ray_engine(encoder: Embedder, *, address: str | None = None, actors: int = 1, gpus_per_actor: float = 0.0,
               max_pixels: int, batch_size: int = BATCH) -> Engine:
    """An :data:`~selfsim.index.ingest.Engine` that prepares and embeds on Ray.

    Raises:
        SelfsimError: Ray is not installed, or the cluster cannot be reached (when called).
    """
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        raise SelfsimError("--engine ray needs Ray Data: pip install 'selfsim[ray]'") from None
    if actors < 1:
        raise SelfsimError(f"--ray-actors must be at least 1, not {actors}")
    spec = dict(encoder.spec)
    fingerprint = encoder.fingerprint
    config = encoder.config

    def run(todo: list[Todo], known_sha: set[str]) -> Iterator[PrepareResult]:
        if not todo:
            return
        _start(address)
        import ray

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # ours counts rows as they are written
        ctx.execution_options.preserve_order = False
        known = ray.put(frozenset(known_sha))
        stats = {t.path: t.stat for t in todo}
        # Paths travel as bytes: Arrow's text must be UTF-8, file names need not be.
        items = [{"path": os.fsencode(t.path), "expect": t.expect or ""} for t in todo]
        blocks = max(1, min(len(items) // 16, 200))
        ds = ray.data.from_items(items, override_num_blocks=blocks)
        # Half a CPU a decoding task (they wait on files too), and the actors never take
        # the last half CPU, so decoding always runs (actors holding every CPU would wait
        # forever for pixels). The two requests differ, which also keeps Ray from fusing
        # decoding into the actors: files are decoded while the model runs.
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        actor_cpus = min(1.0, max(0.05, (cpus - DECODE_CPUS) / actors))
        if actor_cpus == DECODE_CPUS:
            actor_cpus -= 0.01
        ds = ds.map(_decode, fn_kwargs={"known": known, "config": config, "max_pixels": max_pixels},
                    num_cpus=DECODE_CPUS)
        ds = ds.map_batches(_Embedder, fn_constructor_kwargs={"spec": spec, "fingerprint": fingerprint},
                            batch_size=batch_size, concurrency=actors, num_cpus=actor_cpus, num_gpus=gpus_per_actor or None,
                            batch_format="numpy")
        try:
            for batch in ds.iter_batches(batch_size=batch_size, batch_format="numpy", prefetch_batches=2):
                yield from _results(batch, stats)
        except SelfsimError:
            raise
        except Exception as e:  # a dataset that failed after Ray's retries
            first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            raise SelfsimError(f"Ray could not finish embedding ({first}); what was written so far is kept: "
                               f"run the same command again to continue") from None

    return run


def _start(address: str | None) -> None:
    import ray

    for name in ("ray", "ray.data"):  # its plans and notices are not the user's business
        logging.getLogger(name).setLevel(logging.ERROR)
    if ray.is_initialized():
        return
    # Ray gives a new local node 30 s to register with its GCS; on a busy 2-core laptop that can
    # pass, so a local start is tried twice. A cluster address is tried once: its errors are real.
    attempts = 1 if address else LOCAL_START_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, logging_level=logging.ERROR)
            return
        except Exception as e:
            ray.shutdown()  # the half-started processes of this try
            if attempt == attempts:
                where = address or "a local Ray runtime"
                raise SelfsimError(f"cannot start or reach {where} ({str(e).strip().splitlines()[0]})") from None


def _decode(row: dict[str, Any], known: Any, config: EncoderConfig, max_pixels: int) -> dict[str, Any]:
    """A Ray task: hash and decode one file into a row (the pixels are zeros unless
    the row is to be embedded, so that every row has the same columns)."""
    import ray

    known_sha = known if isinstance(known, frozenset) else ray.get(known)
    path = os.fsdecode(bytes(row["path"]))
    stat = os.stat_result((0,) * 10)
    result = prepare_file(Todo(path, stat, str(row["expect"]) or None), known_sha, config, max_pixels)
    s = config.input_size
    out = {"path": os.fsencode(path), "kind": _KINDS["skip"], "reason": "", "sha256": "", "width": 0, "height": 0, "phash": 0,
           "pixels": np.zeros((3, s, s), np.float32)}
    if isinstance(result, SkippedFile):
        out["reason"] = result.reason
    elif isinstance(result, Unchanged):
        out["kind"] = _KINDS["same"]
    else:
        out.update(kind=_KINDS["embed" if result.pixels is not None else "reuse"], sha256=result.sha256,
                   width=result.width, height=result.height, phash=result.phash)
        if result.pixels is not None:
            out["pixels"] = result.pixels
    return out


class _Embedder:
    """A Ray actor: one model, loaded once, embedding the rows that need it."""

    def __init__(self, spec: dict[str, str | None], fingerprint: str) -> None:
        from selfsim.models.loading import load_embedder

        model = spec.get("model") or "default"
        runtime = spec.get("runtime") or ("torch" if model == "default" else None)  # as the index records it
        self.encoder = load_embedder(model, weights=spec.get("weights"), runtime=runtime)
        if self.encoder.fingerprint != fingerprint:
            raise SelfsimError(f"a Ray worker loaded another model ({self.encoder.fingerprint}, not {fingerprint}); "
                               f"the workers need the same model files as this machine")
        self.encoder.eval()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        kinds = batch["kind"]
        todo = np.flatnonzero(kinds == _KINDS["embed"])
        vectors = np.zeros((len(kinds), self.encoder.dim), np.float32)
        if len(todo):
            vectors[todo] = self.encoder.embed_pixels(np.ascontiguousarray(batch["pixels"][todo]))
        out = {k: v for k, v in batch.items() if k != "pixels"}
        out["vector"] = vectors
        return out


def _results(batch: dict[str, np.ndarray], stats: dict[str, os.stat_result]) -> Iterator[PrepareResult]:
    for n in range(len(batch["path"])):
        path, kind = os.fsdecode(bytes(batch["path"][n])), int(batch["kind"][n])
        if kind == _KINDS["skip"]:
            yield SkippedFile(path, str(batch["reason"][n]))
        elif kind == _KINDS["same"]:
            yield Unchanged(path)
        else:
            vector = np.asarray(batch["vector"][n], np.float32) if kind == _KINDS["embed"] else None
            yield Prepared(path, stats[path], str(batch["sha256"][n]), int(batch["width"][n]),
                           int(batch["height"][n]), int(batch["phash"][n]), None, vector)


__all__ = ["ray_engine"]
