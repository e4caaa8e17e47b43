"""Copy-detection metrics, DISC21-style.

Each query contributes its top prediction ``(score, correct)``; queries whose
original is not in the index ("distractors") can only contribute false positives.
All predictions are pooled and sorted by score, so a system is rewarded only if
one threshold works for every query: that is what users do with scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PredictedMatch:
    """A query's top hit: ``correct`` is True when it is the query's original."""

    query: str
    score: float
    correct: bool


@dataclass(frozen=True)
class CopyDetectionMetrics:
    """Attributes:
    micro_ap: average precision over pooled top-1 predictions, normalised by the
        number of queries that have an original in the index.
    recall_at_1: share of those queries whose top hit is their original.
    recall_at_p90: largest recall reachable by one threshold at precision >= 0.9.
    threshold_at_p90: that threshold: accept top hits scoring at least this much
        (None if precision 0.9 is never reached).
    n_queries, n_positives: queries in all, and queries with an original.
    recall_at_p99, threshold_at_p99: the same at precision >= 0.99.
    """

    micro_ap: float
    recall_at_1: float
    recall_at_p90: float
    threshold_at_p90: float | None
    n_queries: int
    n_positives: int
    recall_at_p99: float = 0.0
    threshold_at_p99: float | None = None


def _ranked(predictions: Sequence[PredictedMatch]) -> tuple[np.ndarray, np.ndarray]:
    scores = np.array([p.score for p in predictions], dtype=np.float64)
    correct = np.array([p.correct for p in predictions], dtype=bool)
    order = np.argsort(-scores, kind="stable")
    return scores[order], correct[order]


def precision_recall(
    predictions: Sequence[PredictedMatch], n_positives: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and score at each cut of the score-sorted predictions."""
    scores, correct = _ranked(predictions)
    tp = np.cumsum(correct)
    precision = tp / np.arange(1, len(tp) + 1)
    recall = tp / max(n_positives, 1)
    return precision, recall, scores


def average_precision(predictions: Sequence[PredictedMatch], n_positives: int) -> float:
    """Sum of precision at each correct prediction, divided by ``n_positives``."""
    if n_positives == 0 or not predictions:
        return 0.0
    precision, _, _ = precision_recall(predictions, n_positives)
    _, correct = _ranked(predictions)
    return float(precision[correct].sum() / n_positives)


def recall_at_precision(
    predictions: Sequence[PredictedMatch], n_positives: int, min_precision: float
) -> tuple[float, float | None]:
    """``(recall, threshold)``: the largest recall one score threshold reaches while
    precision stays at least ``min_precision``, and that threshold (None: never reached).

    The threshold is a score of one of the predictions; accepting every top hit that
    scores at least this much gives that precision and recall on this set.
    """
    if not predictions:
        return 0.0, None
    precision, recall, scores = precision_recall(predictions, n_positives)
    # Only cut between different scores: tied predictions are accepted together.
    last_of_tie = np.append(scores[1:] != scores[:-1], True)
    ok = (precision >= min_precision) & last_of_tie
    if not ok.any():
        return 0.0, None
    best = int(np.flatnonzero(ok)[np.argmax(recall[ok])])
    return float(recall[best]), float(scores[best])


def copy_detection_metrics(
    predictions: Sequence[PredictedMatch], n_positives: int, n_queries: int | None = None
) -> CopyDetectionMetrics:
    """Score top-1 predictions (at most one per query)."""
    r90, t90 = recall_at_precision(predictions, n_positives, 0.9)
    r99, t99 = recall_at_precision(predictions, n_positives, 0.99)
    r1 = sum(p.correct for p in predictions) / max(n_positives, 1)
    return CopyDetectionMetrics(
        micro_ap=average_precision(predictions, n_positives),
        recall_at_1=float(r1),
        recall_at_p90=r90,
        threshold_at_p90=t90,
        n_queries=n_queries if n_queries is not None else len(predictions),
        n_positives=n_positives,
        recall_at_p99=r99,
        threshold_at_p99=t99,
    )
