from __future__ import annotations

import pytest

from selfsim.eval.metrics import PredictedMatch as P
from selfsim.eval.metrics import copy_detection_metrics, recall_at_precision


def test_metrics_by_hand() -> None:
    # Sorted by score: correct, wrong, correct, wrong(distractor). 3 queries have originals.
    preds = [P("a", 0.9, True), P("b", 0.8, False), P("c", 0.7, True), P("d", 0.1, False)]
    m = copy_detection_metrics(preds, n_positives=3)
    # AP = (1/1 + 2/3) / 3
    assert m.micro_ap == pytest.approx((1 + 2 / 3) / 3)
    assert m.recall_at_1 == pytest.approx(2 / 3)
    # precision >= 0.9 only at the first cut: recall 1/3, threshold 0.9
    assert m.recall_at_p90 == pytest.approx(1 / 3)
    assert m.threshold_at_p90 == pytest.approx(0.9)


def test_perfect_and_empty() -> None:
    m = copy_detection_metrics([P("a", 0.5, True), P("b", 0.1, False)], n_positives=1)
    assert m.micro_ap == 1.0 and m.recall_at_p90 == 1.0
    assert copy_detection_metrics([], n_positives=0).micro_ap == 0.0


def test_thresholds_at_90_and_99_percent_precision() -> None:
    # 10 right answers above 0.5, one wrong at 0.45, then two right: P90 reaches past
    # the wrong one (12/13 = 0.92), P99 stops before it.
    preds = [P(f"r{i}", 1.0 - i * 0.05, True) for i in range(10)]
    preds += [P("w", 0.47, False), P("x", 0.46, True), P("y", 0.44, True)]
    m = copy_detection_metrics(preds, n_positives=14)
    assert m.recall_at_p99 == pytest.approx(10 / 14) and m.threshold_at_p99 == pytest.approx(0.55)
    assert m.recall_at_p90 == pytest.approx(12 / 14) and m.threshold_at_p90 == pytest.approx(0.44)


def test_a_threshold_never_splits_tied_scores() -> None:
    # A right and a wrong answer tie: a threshold accepts both or neither.
    preds = [P("a", 0.9, True), P("b", 0.5, True), P("c", 0.5, False)]
    r, t = recall_at_precision(preds, n_positives=2, min_precision=0.9)
    assert (r, t) == (pytest.approx(0.5), pytest.approx(0.9))
    assert recall_at_precision([P("c", 0.5, False)], 1, 0.9) == (0.0, None)
