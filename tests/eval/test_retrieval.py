"""Labelled retrieval metrics against rankings worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from selfsim.eval.retrieval import hamming_similarity, retrieval_metrics


def unit(angles_deg: list[float]) -> np.ndarray:
    a = np.radians(angles_deg)
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


def test_metrics_by_hand() -> None:
    # Points on a circle: classes A A B A B. Query 0 (A at 0 deg) ranks: 1 (A, 10 deg),
    # 2 (B, 20 deg), 3 (A, 40 deg), 4 (B, 90 deg).
    xb = unit([0, 10, 20, 40, 90])
    labels = ["A", "A", "B", "A", "B"]
    m = retrieval_metrics(xb, labels, ks=(1, 2), knn=3, queries=np.array([0]))
    # relevant at ranks 1 and 3: AP = (1/1 + 2/3) / 2; R = 2: AP@R = (1/1 + 0) / 2
    assert m.map == pytest.approx((1 + 2 / 3) / 2)
    assert m.map_at_r == pytest.approx(0.5)
    assert m.recall_at == {1: 1.0, 2: 1.0}
    assert m.precision_at[1] == 1.0 and m.precision_at[2] == pytest.approx(0.5)
    assert m.knn_accuracy == 1.0  # neighbours 1, 2, 3: A, B, A
    assert m.n_queries == 1 and m.n_database == 4


def test_all_queries_and_a_class_of_one_is_left_out() -> None:
    xb = unit([0, 10, 23, 40, 90, 180])
    labels = ["A", "A", "B", "A", "B", "C"]  # C has no other member: not a query
    m = retrieval_metrics(xb, labels, ks=(1,), knn=1)
    assert m.n_queries == 5
    # Nearest others: 0 -> 10 (A, right), 10 -> 0 (A, right), 23 -> 10 (A, wrong),
    # 40 -> 23 (B, wrong), 90 -> 40 (A, wrong).
    assert m.recall_at[1] == pytest.approx(2 / 5)
    assert m.knn_accuracy == pytest.approx(2 / 5)


def test_the_knn_vote_breaks_ties_by_the_nearest() -> None:
    # Query 0's two nearest: B (5 deg) then A (10 deg): a tie goes to B.
    xb = unit([0, 5, 10, 100, 120])
    m = retrieval_metrics(xb, ["A", "B", "A", "B", "A"], ks=(1,), knn=2, queries=np.array([0]))
    assert m.knn_accuracy == 0.0


def test_hamming_similarity_matches_counting_bits() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 64)) > 0.5, rng.random((7, 64)) > 0.5
    expected = 1 - (a[:, None, :] != b[None, :, :]).sum(-1) / 64
    assert np.allclose(hamming_similarity(a, b), expected)


def test_labels_must_match_the_vectors() -> None:
    with pytest.raises(ValueError, match="3 vectors but 2 labels"):
        retrieval_metrics(unit([0, 1, 2]), ["A", "B"])
