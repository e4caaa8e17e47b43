"""Verified search: re-rank an embedding shortlist by geometric verification.

Global embeddings find candidates; local features with a calibrated geometric
verdict (:class:`~selfsim.match.Matcher`) confirm them. A confirmed candidate's
score becomes at least ``0.5 + 0.5 * p`` (p: the calibrated match probability,
at least the calibration threshold), above any unverified score, so verified
copies rank first and one threshold still means the same for every query.
References' features are cached in the index by content hash, so each is detected
once, at index time (``selfsim index --local-features``) or on first verification.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace

from PIL import Image

from selfsim.data.reader import read_image
from selfsim.errors import ImageReadError
from selfsim.index.catalog import ImageRecord
from selfsim.index.index import Index
from selfsim.match.features import LocalFeatures
from selfsim.match.matcher import Matcher, MatchResult
from selfsim.search.results import SearchHit

log = logging.getLogger(__name__)

VERIFIED_BASE = 0.5
VERIFIED_SPAN = 0.5


class Verifier:
    """Confirms hits with local features; reference features cached in the index."""

    def __init__(self, index: Index, matcher: Matcher | None = None) -> None:
        self.index = index
        self.matcher = matcher or Matcher()

    def reference_features(self, image_id: int) -> LocalFeatures | None:
        """Cached features of an indexed image (detected and cached if missing)."""
        rec = self.index.catalog.record(image_id)
        return None if rec is None else self._features_of(rec)

    def _features_of(self, rec: ImageRecord) -> LocalFeatures | None:
        method = self.matcher.extractor.cache_key
        cached = self.index.catalog.get_features(rec.sha256, method)
        if cached is not None:
            return LocalFeatures.from_bytes(cached)
        try:
            st = os.stat(rec.path)
            if (st.st_size, st.st_mtime_ns) != (rec.size, rec.mtime_ns):
                log.info("%s changed since it was indexed; not verifying it", rec.path)
                return None
            # Keypoints are detected at <= 1024 px: a JPEG draft at that size loses nothing.
            feats = self.matcher.features(read_image(rec.path, min_side=self.matcher.extractor.max_side))
        except (OSError, ImageReadError) as e:
            log.info("cannot verify against %s: %s", rec.path, e)
            return None
        try:
            self.index.catalog.put_features(rec.sha256, method, feats.to_bytes())
        except sqlite3.Error as e:  # a read-only index still verifies, just without caching
            log.info("cannot cache features in %s: %s", self.index.path, e)
        return feats

    def warm(self, ids: list[int], on_progress: Callable[[int], None] | None = None) -> int:
        """Detect and cache features of these images now; returns how many were new."""
        method = self.matcher.extractor.cache_key
        new = 0
        for i in ids:
            rec = self.index.catalog.record(i)
            if rec is not None and self.index.catalog.get_features(rec.sha256, method) is None:
                new += self._features_of(rec) is not None
            if on_progress is not None:
                on_progress(1)
        return new

    def verify(self, query: Image.Image, hits: list[SearchHit], top_n: int,
               also: Sequence[SearchHit] = ()) -> list[SearchHit]:
        """Re-rank ``hits`` (best first) after verifying the first ``top_n``.

        Args:
            also: more candidates (not among the first ``top_n``), verified too and
                kept only when verification confirms them.
        """
        if top_n <= 0 or not (hits or also):
            return hits
        fq = self.matcher.features(query)
        out = [self._checked(fq, hit) if rank < top_n else hit for rank, hit in enumerate(hits)]
        confirmed = [hit for hit in (self._checked(fq, h) for h in also) if hit.verified]
        ids = {hit.id for hit in confirmed}  # an unverified hit further down is replaced
        return sorted([hit for hit in out if hit.id not in ids] + confirmed, key=lambda h: -h.score)

    def _checked(self, fq: LocalFeatures, hit: SearchHit) -> SearchHit:
        fr = self.reference_features(hit.id)
        return hit if fr is None else fold(hit, self.matcher.match_features(fq, fr, hit.similarity))


def fold(hit: SearchHit, result: MatchResult) -> SearchHit:
    """A hit with the verification's evidence folded into its score."""
    if not result.match:
        return hit
    return replace(hit, score=max(hit.score, VERIFIED_BASE + VERIFIED_SPAN * result.score), verified=True)
