from __future__ import annotations

import pytest

from selfsim.eval.metrics import PredictedMatch as P
from selfsim.eval.metrics import copy_detection_metrics


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
