"""Typed search results."""

from __future__ import annotations

from dataclasses import dataclass, field

from selfsim.json_values import finite


@dataclass(frozen=True)
class SearchHit:
    """One indexed image returned for a query.

    Attributes:
        path: the indexed file.
        score: calibrated score; higher means more likely the same picture, and the
            same threshold means the same thing for every query.
        similarity: raw cosine similarity of the two embeddings.
        id: the image's id in the index.
        verified: True when geometric verification confirmed the hit.
    """

    path: str
    score: float
    similarity: float
    id: int
    verified: bool = False


@dataclass(frozen=True)
class QueryResult:
    """The hits for one query image, best first."""

    query: str
    hits: list[SearchHit] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, object]:
        """The hits as plain JSON values; a NaN or infinite score becomes null (JSON has no NaN)."""
        return {
            "query": self.query,
            "hits": [{"path": h.path, "score": finite(h.score, 6), "similarity": finite(h.similarity, 6),
                      "verified": h.verified} for h in self.hits],
        }
