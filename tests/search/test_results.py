"""Search results as JSON: plain values, and never a NaN (which JSON does not have)."""

from __future__ import annotations

import json

import numpy as np

from selfsim.search.results import QueryResult, SearchHit


def test_non_finite_scores_become_null() -> None:
    hits = [
        SearchHit("a.jpg", 0.91234567, 0.8, 0, verified=True),
        SearchHit("b.jpg", float("nan"), float("inf"), 1),
        SearchHit("c.jpg", np.float32(0.25), np.float32(-np.inf), 2),  # type: ignore[arg-type]
    ]
    d = QueryResult("q.jpg", hits).to_json_dict()
    text = json.dumps(d, allow_nan=False)  # raises on NaN or infinity
    assert json.loads(text) == {
        "query": "q.jpg",
        "hits": [
            {"path": "a.jpg", "score": 0.912346, "similarity": 0.8, "verified": True},
            {"path": "b.jpg", "score": None, "similarity": None, "verified": False},
            {"path": "c.jpg", "score": 0.25, "similarity": None, "verified": False},
        ],
    }
