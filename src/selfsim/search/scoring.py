"""Scores that mean the same for every query.

A raw cosine similarity of 0.8 can be a near-certain copy for one query and an
unrelated picture for another (dark, flat or textured queries resemble many
images). Following the score normalisation used in copy-detection systems
(Pizzi et al., "A Self-Supervised Descriptor for Image Copy Detection", CVPR 2022,
section 4.3), we subtract the query's *background* similarity: the mean similarity
of its nearest neighbours after the first ``skip``, taken from the index itself.
A copy stands out from that background; an unrelated query does not.

On the copy-detection benchmark this raises micro-AP of the default encoder from
0.76 to 0.87 (see BENCHMARKS.md) while leaving each query's ranking unchanged.
"""

from __future__ import annotations

import numpy as np

#: The background is measured against at most this many pictures of the collection.
BACKGROUND_SAMPLE = 1000
#: Weights of the whole collection's neighbours in a query's background and of the
#: reference's own background (see :class:`ScoreNormalizer`); fitted on seed 0.
COLLECTION_WEIGHT = 0.75
REFERENCE_WEIGHT = 0.3
#: A reference's similarity to itself, or to an identical picture (float16 vectors).
DUPLICATE_SIMILARITY = 0.999


class ScoreNormalizer:
    """``score = similarity - beta * background``, the background of a (query, reference) pair being

    ``(1 - reference) * query_background + reference * reference_background``, with
    ``query_background = (1 - collection) * sample_mean + collection * collection_mean``:

    - ``sample_mean``: the mean similarity of the query's neighbours at ranks ``skip+1 ..
      skip+count`` among at most ``sample`` pictures of the collection (all of them in a
      smaller collection, otherwise a fixed sample, :func:`background_sample`);
    - ``collection_mean``: the same ranks among the whole collection;
    - ``reference_background``: the mean similarity of the reference's ``count`` nearest
      pictures of that sample (itself and exact duplicates left out), the "hubness" of
      the reference: a picture that resembles many others (a common layout, a flat
      clip-art drawing) is the wrong best hit of many queries.

    Why both query terms: among all of a large collection, the neighbours at ranks 2 to 11
    of every query come ever closer as the collection grows, so copies score lower and a
    fixed threshold keeps fewer of them; among a fixed sample they do not, but the best
    wrong hit of a query without an original (the most similar of ever more pictures)
    scores higher, so a fixed threshold lets more of them through. Their mix, and the
    reference term, keep the score of a wrong best hit nearly where it was at 100
    pictures; the weights were fitted on the copy-detection set's seed-0 split among
    3,000 and 10,000 distractors (BENCHMARKS.md, "Copy detection among distractors").

    Args:
        skip: best neighbours left out of the query's background (the copy itself).
        count: neighbours averaged into each background. Indexes with fewer images
            use what they have; with no neighbour beyond ``skip`` a background is 0.
        beta: weight of the background.
        sample: the most pictures the sample backgrounds are measured against.
        collection: weight of the whole collection's neighbours in the query's background.
        reference: weight of the reference's background.
    """

    def __init__(self, skip: int = 1, count: int = 10, beta: float = 1.0,
                 sample: int = BACKGROUND_SAMPLE, collection: float = COLLECTION_WEIGHT,
                 reference: float = REFERENCE_WEIGHT) -> None:
        if skip < 0 or count < 0:
            raise ValueError("skip and count must be >= 0")
        if sample < skip + count:
            raise ValueError("the background sample must hold at least skip + count pictures")
        if not (0 <= collection <= 1 and 0 <= reference <= 1):
            raise ValueError("collection and reference weights must be in [0, 1]")
        self.skip = skip
        self.count = count
        self.beta = beta
        self.sample = sample
        self.collection = collection
        self.reference = reference if count else 0.0

    @property
    def depth(self) -> int:
        """How many neighbours a search must fetch for the background."""
        return self.skip + self.count

    def background(self, sims: np.ndarray) -> float:
        """Background of one query from its similarities sorted best first.

        Exact duplicates of the best hit (identical files indexed twice have the
        same vector, hence the same similarity) are not background: they are left
        out, so duplicates in a collection do not lower the scores of their copies.
        """
        if len(sims):
            dupes = int(np.sum(np.abs(sims[1:] - sims[0]) < 1e-6)) if len(sims) > 1 else 0
            sims = np.concatenate([sims[:1], sims[1 + dupes :]])
        tail = sims[self.skip : self.skip + self.count]
        tail = tail[np.isfinite(tail)]
        return float(tail.mean()) if len(tail) else 0.0

    def query_background(self, sample_sims: np.ndarray, collection_sims: np.ndarray) -> float:
        """The query's background from its similarities (sorted best first) to the
        sample and to its nearest pictures of the whole collection."""
        return ((1 - self.collection) * self.background(sample_sims)
                + self.collection * self.background(collection_sims))

    def reference_backgrounds(self, sims: np.ndarray) -> np.ndarray:
        """Backgrounds of references from their similarities to the sample (m, s),
        with ``-inf`` where a sample picture is the reference itself."""
        if not self.count or sims.shape[1] == 0:
            return np.zeros(len(sims), np.float32)
        sims = np.where(sims >= DUPLICATE_SIMILARITY, -np.inf, sims)  # itself, or an identical picture
        k = min(self.count, sims.shape[1])
        top = -np.partition(-sims, k - 1, axis=1)[:, :k]
        finite = np.isfinite(top)
        total = np.where(finite, top, 0).sum(axis=1)
        return np.where(finite.any(axis=1), total / np.maximum(finite.sum(axis=1), 1), 0).astype(np.float32)

    def offsets(self, query_background: float, reference_backgrounds: np.ndarray | None = None) -> np.ndarray | float:
        """What is subtracted from the similarities of one query's candidates."""
        if reference_backgrounds is None or not self.reference:
            return self.beta * query_background
        return self.beta * ((1 - self.reference) * query_background + self.reference * reference_backgrounds)

    def __call__(self, sims: np.ndarray) -> np.ndarray:
        """Normalise one query's similarities (sorted best first) by its own background."""
        return sims - self.beta * self.background(sims)


def background_sample(ids: np.ndarray, size: int) -> np.ndarray:
    """``size`` of ``ids`` (sorted), chosen by a hash of each id: the same ones every
    time, and as the collection grows, a new id enters only in place of one whose
    hash is larger, so the sample changes gradually."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) <= size:
        return np.sort(ids)
    h = (ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)  # Fibonacci hashing
    return np.sort(ids[np.argpartition(h, size - 1)[:size]])


class PhashVouch:
    """Lets a near-identical perceptual hash vouch for a copy.

    A reference whose pHash is within ``max_distance`` bits of the query's, and
    whose normalised embedding score (similarity minus the query's background, see
    :class:`ScoreNormalizer`) passes a guard, scores at least
    ``base + step * (max_distance - distance)``: from ``base`` (0.25) at the limit to
    0.45 for identical hashes, above the precision-0.9 threshold of normalised
    embedding scores (about 0.15 on our benchmark). This rescues pixelated and
    blurred copies that CNN features miss.

    The guard keeps pictures of the same simple layout, whose hashes collide, from
    being vouched for: the normalised score must be at least ``min_score`` (-0.15) at
    the limit, and at least ``close_min_score`` (-0.30) for identical hashes (linear
    in between): the closer the hashes, the less the embedding must agree. It is
    relative to the background, not an absolute cosine, because similarities have a
    different scale for every model: an encoder adapted with ``selfsim train`` puts
    unrelated pictures near cosine 0.1 where the default one puts them near 0.4.

    A hash proves nothing when the query's picture is flat or symmetric (the median
    split of its DCT leaves fewer than ``min_bits`` bits set; a flat picture's hash
    has one) or when more than ``max_shared`` indexed pictures lie within reach of
    it (a common layout: among 10,000 clip-art pictures, 96 flat ones share one
    hash): then nothing is vouched for.
    """

    def __init__(
        self,
        max_distance: int = 8,
        min_score: float = -0.15,
        base: float = 0.25,
        step: float = 0.025,
        close_min_score: float = -0.30,
        min_bits: int = 24,
        max_shared: int = 8,
    ) -> None:
        self.max_distance = max_distance
        self.min_score = min_score
        self.base = base
        self.step = step
        self.close_min_score = close_min_score
        self.min_bits = min_bits
        self.max_shared = max_shared

    def informative(self, phash: int, within_reach: int) -> bool:
        """Whether the query's hash ``phash`` can vouch at all, with ``within_reach``
        indexed pictures within ``max_distance`` of it."""
        bits = int(np.bitwise_count(np.int64(phash).view(np.uint64)))
        return self.min_bits <= bits <= 64 - self.min_bits and within_reach <= self.max_shared

    def score(self, distance: np.ndarray, normalised: np.ndarray) -> np.ndarray:
        """Scores for candidates at pHash ``distance`` with ``normalised`` embedding
        scores; ``-inf`` where the hash does not vouch."""
        d = distance.astype(np.float32)
        s = self.base + self.step * (self.max_distance - d)
        closeness = np.clip((self.max_distance - d) / max(self.max_distance, 1), 0.0, 1.0)
        floor = self.min_score + (self.close_min_score - self.min_score) * closeness
        ok = (distance <= self.max_distance) & (normalised >= floor - 1e-6)
        return np.where(ok, s, -np.inf).astype(np.float32)
