"""selfsim/names.py: the light copies of names agree with the modules that implement them."""

from __future__ import annotations

from selfsim import names


def test_names_match_their_implementations() -> None:
    from selfsim.data.cleaning import DEFAULT_MIN_SIDE
    from selfsim.data.edits import EDITS
    from selfsim.data.reader import DEFAULT_MAX_PIXELS
    from selfsim.dedup.finder import DedupOptions
    from selfsim.eval.copyset import EDIT_NAMES
    from selfsim.eval.unlabeled import METHODS as EVAL_METHODS
    from selfsim.index.store import STORE_KINDS, resolve_kind
    from selfsim.match.features import METHODS, FeatureExtractor
    from selfsim.match.geometry import MODES
    from selfsim.ssl.losses import METHODS as SSL_METHODS

    assert names.EDIT_NAMES == EDIT_NAMES == (*EDITS, "chain")
    assert names.FEATURE_METHODS == METHODS
    for method in METHODS:
        FeatureExtractor(method)  # each name is one the extractor knows
    assert names.GEOMETRY_MODES == MODES
    assert names.STORE_KINDS == STORE_KINDS
    for kind in STORE_KINDS:
        resolve_kind(kind, 10)
    assert names.SSL_METHODS == SSL_METHODS
    assert (*names.EVAL_BASELINES, *names.EVAL_ENCODER_METHODS) == EVAL_METHODS
    assert names.DEDUP_MIN_SIMILARITY == DedupOptions().min_similarity
    assert names.CLEAN_MIN_SIDE == DEFAULT_MIN_SIDE
    assert names.DEFAULT_MAX_PIXELS == DEFAULT_MAX_PIXELS == 100_000_000
