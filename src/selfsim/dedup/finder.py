"""Finding duplicate groups in an index: exact copies, near-duplicates, and (on
request) other shots of one scene.

1. Exact copies share a content hash; each set counts once from here on.
2. Candidate pairs come from the neighbour graph of the stored vectors
   (:mod:`selfsim.dedup.graph`), never from all pairs. Those that look the same are
   decoded: identical pixels make them exact copies too (:mod:`selfsim.dedup.pixels`).
3. A candidate is confirmed with local features and a calibrated geometric verdict
   (the features cached in the index, as verified search uses them).
4. A confirmed pair is a near-duplicate when the two pictures agree once aligned
   (:mod:`selfsim.dedup.agreement`); otherwise it is another shot of the scene.
5. Groups form around a centre (:mod:`selfsim.dedup.clusters`), so nothing chains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from selfsim.data.reader import read_image
from selfsim.dedup.agreement import SIDE, agreement
from selfsim.dedup.clusters import centre_groups
from selfsim.dedup.graph import neighbour_graph
from selfsim.dedup.groups import DuplicateGroup, group_of
from selfsim.dedup.keeper import keeper_rank
from selfsim.dedup.pixels import fold_same_pixels
from selfsim.errors import ImageReadError, SelfsimError
from selfsim.index.catalog import ImageRecord
from selfsim.index.index import Index
from selfsim.match.matcher import Matcher
from selfsim.search.verify import Verifier

log = logging.getLogger(__name__)

#: Pairs that local features cannot check (too little texture) are compared frame to
#: frame when their embeddings are at least this similar.
SAME_FRAME_SIMILARITY = 0.9
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

    min_similarity: float = 0.6
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
    ids, xb = index.catalog.vectors(index.model.dim)
    keep = np.isin(ids, np.fromiter(twins, np.int64, len(twins)))
    edges = neighbour_graph(ids[keep], xb[keep], options.neighbours, options.min_similarity)
    del xb
    edges, twins = fold_same_pixels(edges, twins, records)
    verifier = Verifier(index, matcher)
    near: list[tuple[int, int, float]] = []
    other: list[tuple[int, int, float]] = []
    if on_plan is not None:
        on_plan(len(edges))
    for a, b, s in zip(edges.a.tolist(), edges.b.tolist(), edges.similarity.tolist()):
        verdict = _confirm(verifier, records[a], records[b], s)
        if verdict is not None:
            (near if verdict[0] else other).append((a, b, verdict[1]))
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


def _confirm(verifier: Verifier, a: ImageRecord, b: ImageRecord, similarity: float) -> tuple[bool, float] | None:
    """``(is_copy, score)`` for a confirmed pair, None when nothing confirms it.

    With local features, the verified homography aligns the two. Smooth pictures
    (gradients, skies) have too few keypoints for that; a pair of them with the same
    aspect ratio and a very similar embedding is aligned by scaling alone, and must
    then agree as a copy does (a resized or re-encoded copy; not a crop).
    """
    fa, fb = verifier.reference_features(a.id), verifier.reference_features(b.id)
    result = None if fa is None or fb is None else verifier.matcher.match_features(fa, fb, similarity)
    if result is not None and result.match and result.homography is not None and result.coverage >= MIN_COVERAGE:
        assert fa is not None and fb is not None
        homography, size_a, size_b, score = result.homography, fa.size, fb.size, result.score
    elif similarity >= SAME_FRAME_SIMILARITY and _same_frame(a, b):
        homography = np.diag([b.width / a.width, b.height / a.height, 1.0])
        size_a, size_b, score = (a.width, a.height), (b.width, b.height), similarity
    else:
        return None
    try:
        ia, ib = read_image(a.path, min_side=SIDE), read_image(b.path, min_side=SIDE)
    except ImageReadError as e:
        log.info("cannot compare %s and %s: %s", a.path, b.path, e)
        return None
    g = agreement(ia, ib, homography, size_a, size_b)
    if result is None or not result.match or result.coverage < MIN_COVERAGE:
        return (True, score) if g.copy else None  # no geometry to call it another shot
    return g.copy, score


def _same_frame(a: ImageRecord, b: ImageRecord) -> bool:
    """The same aspect ratio within 2 %: one may be a resized copy of the other."""
    return abs(np.log((a.width / a.height) / (b.width / b.height))) < 0.02
