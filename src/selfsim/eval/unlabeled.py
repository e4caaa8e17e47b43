"""Evaluation without labels: how well each method finds edited copies of a folder's
pictures, side by side, on one copy set (:mod:`selfsim.eval.copyset`).

Methods: pHash, ORB + RANSAC, and for each encoder (the default one and each
model given) selfsim search, its plain cosine (what ``dedup --min-similarity``
compares) and verified search. Every method's top hit per query is scored as in
``benchmarks/copy_detection.py`` (:mod:`selfsim.eval.metrics`), and the scores that
keep 90 % and 99 % precision are the thresholds to use with that method's command.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from selfsim.eval.copyset import CopySet
from selfsim.eval.metrics import CopyDetectionMetrics, PredictedMatch, copy_detection_metrics
from selfsim.eval.rankings import (
    Ranking,
    build_index,
    orb_rankings,
    phash_rankings,
    search_rankings,
)
from selfsim.models.embedder import Embedder
from selfsim.names import EVAL_BASELINES, EVAL_ENCODER_METHODS

log = logging.getLogger(__name__)

#: Baselines that need no model.
BASELINES = EVAL_BASELINES
#: What is run for each encoder.
ENCODER_METHODS = EVAL_ENCODER_METHODS
#: Every method family, as ``--methods`` names them.
METHODS = (*BASELINES, *ENCODER_METHODS)


@dataclass(frozen=True)
class MethodResult:
    """One row of the table.

    Attributes:
        name: what ran (``"pHash (imagehash)"``, ``"selfsim search [default]"``).
        family: one of :data:`METHODS`.
        model: the encoder's name for selfsim's methods, else None.
        metrics: copy-detection metrics of the top hits, with P90 and P99 thresholds.
        rankings: each query's best references.
        seconds: wall-clock time (for selfsim, indexing is counted in ``search``'s row).
        use: the command whose scores the thresholds apply to.
        per_edit: edit family -> recall@1 over queries with an original.
    """

    name: str
    family: str
    model: str | None
    metrics: CopyDetectionMetrics
    rankings: list[Ranking]
    seconds: float
    use: str
    per_edit: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CopyEvaluation:
    """All rows, in the order run, and the set they ran on."""

    copy_set: CopySet
    rows: list[MethodResult]


Progress = Callable[[str, int], Callable[[int], None] | None]


def evaluate_copies(
    copy_set: CopySet,
    encoders: Sequence[tuple[str, Embedder]],
    *,
    methods: Sequence[str] = METHODS,
    verify: int = 20,
    work: Path | None = None,
    on_stage: Progress | None = None,
) -> CopyEvaluation:
    """Run every method on ``copy_set``.

    Args:
        encoders: (name, encoder) pairs; each gets the encoder methods in ``methods``.
        methods: the method families to run (see :data:`METHODS`).
        verify: hits re-ranked by verified search.
        work: where indexes are made (default: ``copy_set.root / "indexes"``).
        on_stage: called with a stage's description and its number of steps; may
            return a function to call with steps done (a progress bar).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from: {', '.join(METHODS)}")
    work = work or copy_set.root / "indexes"
    refs, queries = copy_set.refs, copy_set.queries
    rows: list[MethodResult] = []

    def stage(text: str, steps: int) -> Callable[[int], None] | None:
        return on_stage(text, steps) if on_stage is not None else None

    def add(name: str, family: str, model: str | None, run: Callable[[], list[Ranking]], use: str) -> None:
        t0 = time.perf_counter()
        rankings = run()
        rows.append(MethodResult(name, family, model, score_rankings(rankings, copy_set.truth), rankings,
                                 time.perf_counter() - t0, use, recall_per_edit(rankings, copy_set)))

    if "phash" in methods:
        add("pHash (imagehash)", "phash", None,
            lambda: phash_rankings(refs, queries, stage("pHash", len(queries))), "-")
    if "orb" in methods:
        add("ORB + RANSAC (OpenCV)", "orb", None,
            lambda: orb_rankings(refs, queries, stage("ORB + RANSAC", len(queries))), "-")
    for n, (name, encoder) in enumerate(encoders):
        run = partial(_searched, copy_set, encoder, name, work / f"index-{n}", stage)
        if "search" in methods:
            add(f"selfsim search [{name}]", "search", name, run, "selfsim search (score)")
        if "cosine" in methods:
            add(f"plain cosine [{name}]", "cosine", name, partial(run, plain=True, label="cosine"),
                "selfsim dedup --min-similarity")
        if "verified" in methods and verify > 0:
            add(f"selfsim search --verify {verify} [{name}]", "verified", name,
                partial(run, verified=verify, label="verified search"), f"selfsim search --verify {verify} (score)")
    return CopyEvaluation(copy_set, rows)


def _searched(copy_set: CopySet, encoder: Embedder, name: str, folder: Path,
              stage: Callable[[str, int], Callable[[int], None] | None], *, plain: bool = False, verified: int = 0,
              label: str = "search") -> list[Ranking]:
    """Index the references (once; later calls find the index up to date), then search."""
    build_index(folder, encoder, copy_set.root / "refs", stage(f"indexing [{name}]", len(copy_set.refs)))
    return search_rankings(folder, encoder, copy_set.queries, verify=verified, plain=plain,
                           on_progress=stage(f"{label} [{name}]", len(copy_set.queries)))


def top_predictions(rankings: Sequence[Ranking], truth: dict[str, str | None]) -> list[PredictedMatch]:
    """Each query's top hit, right when it is the query's original."""
    return [PredictedMatch(r.query, r.top[1], truth[r.query] == r.top[0]) for r in rankings if r.top is not None]


def score_rankings(rankings: Sequence[Ranking], truth: dict[str, str | None]) -> CopyDetectionMetrics:
    """Copy-detection metrics of each query's top hit (a query with no hit counts as missed)."""
    return copy_detection_metrics(top_predictions(rankings, truth), sum(v is not None for v in truth.values()),
                                  len(truth))


def recall_per_edit(rankings: Sequence[Ranking], copy_set: CopySet) -> dict[str, float]:
    """Edit family ("chain" for several edits) -> recall@1 over queries with an original."""
    found: dict[str, list[bool]] = defaultdict(list)
    top = {r.query: r.top for r in rankings}
    for q, ref in copy_set.truth.items():
        if ref is None:
            continue
        desc = copy_set.edits[q]
        hit = top.get(q)
        found["chain" if "+" in desc else desc].append(hit is not None and hit[0] == ref)
    return {k: sum(v) / len(v) for k, v in sorted(found.items())}
