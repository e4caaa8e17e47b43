"""Finding duplicate groups in an index: exact copies, near-duplicates, and (on
request) other shots of one scene.

1. Exact copies share a content hash; each set counts once from here on.
2. Candidate pairs come from the neighbour graph of the stored vectors
   (:mod:`selfsim.dedup.graph`), never from all pairs. Those that look the same are
   decoded: identical pixels make them exact copies too (:mod:`selfsim.dedup.pixels`).
3. A candidate is confirmed with local features and a calibrated geometric verdict
   (the features cached in the index, as verified search uses them); a pair they
   cannot confirm (smooth pictures have too few keypoints) and whose embeddings are
   close is aligned by a direct crop and scale search (:mod:`selfsim.dedup.crops`).
4. A confirmed pair is a near-duplicate when the two pictures agree once aligned
   (:mod:`selfsim.dedup.agreement`); otherwise it is another shot of the scene.
5. Groups form around a centre (:mod:`selfsim.dedup.clusters`), so nothing chains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from selfsim.data.reader import read_image
from selfsim.dedup.agreement import SIDE, agreement
from selfsim.dedup.clusters import centre_groups
from selfsim.dedup.crops import find_crop
from selfsim.dedup.graph import source_graph
from selfsim.dedup.groups import DuplicateGroup, group_of
from selfsim.dedup.keeper import keeper_rank
from selfsim.dedup.pixels import fold_same_pixels
from selfsim.dedup.sources import CatalogVectors
from selfsim.errors import ImageReadError, SelfsimError
from selfsim.index.catalog import ImageRecord
from selfsim.index.index import Index
from selfsim.match.matcher import Matcher
from selfsim.names import DEDUP_MIN_SIMILARITY
from selfsim.search.verify import Verifier

log = logging.getLogger(__name__)

#: Pairs that local features cannot confirm are searched for a crop or rescale of one
#: in the other when their embeddings are at least this similar (a bound on the cost;
#: the search and the agreement decide): the candidate floor itself. With the default
#: encoder adapted for copy detection, ``benchmarks/dedup_quality.py --seed 1 --hard``'s
#: crops keeping 20-40 % of a photo score 0.45-0.6 against it (0.61-0.76 with the
#: ImageNet encoder before), so the floor went from 0.6 to 0.4 with
#: :data:`selfsim.names.DEDUP_MIN_SIMILARITY`.
CROP_SEARCH_SIMILARITY = 0.4
#: A crop search counts only when the aligned pictures correlate at least this well.
#: Seed 1 of ``benchmarks/dedup_quality.py``: copies that local features could not
#: confirm 0.985-1.0 (0.925-1.0 with ``--hard``); the best placements between any two
#: of that seed's 12 smooth photos and 4 generated smooth pictures 0.88 at most.
#: Captioned copies of smooth photos (0.78-0.99) are the price.
MIN_CROP_NCC = 0.9
#: A geometric match whose inliers span less of either picture than this (the same
#: caption on two different pictures: 0.02) confirms nothing. Wallpapers with texture
#: in one corner only reach 0.07 for true copies, so the floor is low.
MIN_COVERAGE = 0.04


@dataclass(frozen=True)
class DedupOptions:
    """How hard to look.

    Attributes:
        min_similarity: candidate pairs need at least this embedding cosine (a
            captioned copy scored 0.64 with the default model; 0.6 was chosen on
            ``benchmarks/dedup_quality.py`` seed 1, where 0.7 missed it).
        neighbours: candidates looked at per picture.
        similar: also report other shots of one scene (as ``similar`` groups).
    """

    min_similarity: float = DEDUP_MIN_SIMILARITY
    neighbours: int = 10
    similar: bool = False

    def __post_init__(self) -> None:
        if not -1 <= self.min_similarity <= 1:
            raise SelfsimError(f"--min-similarity must be a cosine from -1 to 1, got {self.min_similarity}")
        if self.neighbours < 1:
            raise SelfsimError(f"--neighbours must be at least 1, got {self.neighbours}")


def find_duplicates(
    index: Index,
    options: DedupOptions = DedupOptions(),
    matcher: Matcher | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[DuplicateGroup]:
    """Every group of duplicates in ``index``: exact and near, and similar on request.

    ``on_plan`` gets the number of candidate pairs to verify, ``on_progress`` 1 per pair.
    """
    records = {r.id: r for r in index.records()}
    twins: dict[int, list[ImageRecord]] = {}  # representative id -> every file with its content
    by_sha: dict[str, list[ImageRecord]] = {}
    for r in records.values():
        by_sha.setdefault(r.sha256, []).append(r)
    for same in by_sha.values():
        twins[min(same, key=keeper_rank).id] = same
    representatives = CatalogVectors(index.catalog, index.model.dim, np.fromiter(twins, np.int64, len(twins)))
    edges = source_graph(representatives, options.neighbours, options.min_similarity)  # read through, never all loaded
    edges, twins = fold_same_pixels(edges, twins, records)
    verifier = Verifier(index, matcher)
    near: list[tuple[int, int, float]] = []
    other: list[tuple[int, int, float]] = []
    if on_plan is not None:
        on_plan(len(edges))
    for a, b, s in zip(edges.a.tolist(), edges.b.tolist(), edges.similarity.tolist()):
        check = check_pair(verifier, records[a], records[b], s)
        if check.kind is not None:
            (near if check.kind == "near" else other).append((a, b, check.score))
        if on_progress is not None:
            on_progress(1)

    groups: list[DuplicateGroup] = []
    absorbed: set[int] = set()
    for members, score in centre_groups(near, records):
        groups.append(group_of("near", [r for m in members for r in twins[m]], score))
        absorbed.update(members)
    groups += [group_of("exact", same, 1.0) for rep, same in twins.items() if len(same) > 1 and rep not in absorbed]
    if options.similar:
        free = [(a, b, s) for a, b, s in other if a not in absorbed and b not in absorbed]
        for members, score in centre_groups(free, records):
            groups.append(group_of("similar", [records[m] for m in members], score))
    order = {"exact": 0, "near": 1, "similar": 2}
    return sorted(groups, key=lambda g: (order[g.kind], -len(g.members), g.keeper))


@dataclass(frozen=True)
class PairCheck:
    """The verdict on one candidate pair, and why.

    Attributes:
        kind: ``near`` (a copy), ``similar`` (another shot of the scene) or None
            (nothing confirmed).
        score: the calibrated match probability, or the embedding cosine when a crop
            search aligned the pair; 0 when nothing confirmed it.
        reason: which stage decided, in words.
    """

    kind: Literal["near", "similar"] | None
    score: float
    reason: str


def check_pair(verifier: Verifier, a: ImageRecord, b: ImageRecord, similarity: float) -> PairCheck:
    """Confirm a candidate pair with embedding cosine ``similarity``, and call it a copy or not.

    With local features, the verified homography aligns the two. Smooth pictures
    (gradients, skies) have too few keypoints for that; a pair of them with a similar
    embedding is aligned by a crop and scale search instead, and must then agree as a
    copy does (without a geometric match, nothing is called another shot).
    """
    fa, fb = verifier.reference_features(a.id), verifier.reference_features(b.id)
    result = None if fa is None or fb is None else verifier.matcher.match_features(fa, fb, similarity)
    geometric = result is not None and result.match and result.homography is not None and result.coverage >= MIN_COVERAGE
    if result is None:
        why = "no local features"
    elif not result.match or result.homography is None:
        why = f"no geometric match: {result.reason}"
    else:
        why = f"matched, but the inliers cover {result.coverage:.3f} < {MIN_COVERAGE}"
    if not geometric and similarity < CROP_SEARCH_SIMILARITY:
        return PairCheck(None, 0.0, f"{why}; cosine {similarity:.3f} < {CROP_SEARCH_SIMILARITY} for a crop search")
    try:
        ia, ib = read_image(a.path, min_side=SIDE), read_image(b.path, min_side=SIDE)
    except ImageReadError as e:
        log.info("cannot compare %s and %s: %s", a.path, b.path, e)
        return PairCheck(None, 0.0, f"{why}; cannot read: {e}")
    if geometric:
        assert result is not None and result.homography is not None and fa is not None and fb is not None
        g = agreement(ia, ib, result.homography, fa.size, fb.size)
        return PairCheck("near" if g.copy else "similar", result.score, f"{result.reason}; changed {g.changed:.3f} once aligned")
    fit = find_crop(ia, ib)
    if fit is None or fit.ncc < MIN_CROP_NCC:  # None: flat, or too different in shape
        ncc = "no placement" if fit is None else f"best placement correlates {fit.ncc:.3f} < {MIN_CROP_NCC}"
        return PairCheck(None, 0.0, f"{why}; crop search: {ncc}")
    g = agreement(ia, ib, fit.homography)
    found = f"{why}; crop search: area {fit.area:.2f}, correlation {fit.ncc:.3f}, changed {g.changed:.3f} once aligned"
    return PairCheck("near", similarity, found) if g.copy else PairCheck(None, 0.0, found)
