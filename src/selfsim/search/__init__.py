"""Stage 4: querying an index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

_EXPORTS = {
    "QueryResult": "selfsim.search.results",
    "SearchHit": "selfsim.search.results",
    "PhashVouch": "selfsim.search.scoring",
    "ScoreNormalizer": "selfsim.search.scoring",
    "RegionSearch": "selfsim.search.regions",
    "QueryFailure": "selfsim.search.searcher",
    "Searcher": "selfsim.search.searcher",
    "model_ref": "selfsim.search.searcher",
    "Verifier": "selfsim.search.verify",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.search.regions import RegionSearch
    from selfsim.search.results import QueryResult, SearchHit
    from selfsim.search.scoring import PhashVouch, ScoreNormalizer
    from selfsim.search.searcher import QueryFailure, Searcher, model_ref
    from selfsim.search.verify import Verifier

__all__ = ["model_ref", "PhashVouch", "QueryFailure", "QueryResult", "RegionSearch", "ScoreNormalizer", "Searcher", "SearchHit", "Verifier"]
