"""Stage 4: querying an index."""

from selfsim.search.results import QueryResult, SearchHit
from selfsim.search.scoring import PhashVouch, ScoreNormalizer
from selfsim.search.searcher import QueryFailure, Searcher, model_ref
from selfsim.search.verify import Verifier

__all__ = ["PhashVouch", "QueryFailure", "QueryResult", "ScoreNormalizer", "SearchHit", "Searcher", "Verifier", "model_ref"]
