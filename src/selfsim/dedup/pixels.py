"""Exact copies across formats: files whose decoded pixels are identical.

A PNG saved again with other compression or metadata, a lossless WebP made from it,
a JPEG whose metadata was stripped: new bytes, the same picture. Decoding every file
to find them would double the cost of a run, so only candidate pairs that already
look the same are decoded: the same size as stored, and an embedding cosine of at
least :data:`SAME_PIXELS_SIMILARITY` (identical pixels give identical vectors).
"""

from __future__ import annotations

import logging

import numpy as np

from selfsim.data.reader import DEFAULT_MAX_PIXELS, read_image
from selfsim.dedup.graph import Edges
from selfsim.dedup.keeper import keeper_rank
from selfsim.errors import ImageReadError
from selfsim.index.catalog import ImageRecord

log = logging.getLogger(__name__)

#: Pairs at least this similar (and of one size) are decoded and compared pixel by pixel.
SAME_PIXELS_SIMILARITY = 0.98


def same_pixels(a: str, b: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> bool:
    """Whether two files show exactly the same picture.

    Both are decoded in full (EXIF orientation applied, any mode to 8-bit) and must
    agree on every pixel's transparency and on the colour of every pixel that is not
    fully transparent (lossless WebP does not keep colour nobody can see). A file
    that cannot be read is the same as nothing.
    """
    try:
        ia = read_image(a, max_pixels=max_pixels, keep_alpha=True)
        ib = read_image(b, max_pixels=max_pixels, keep_alpha=True)
    except ImageReadError as e:
        log.info("cannot compare pixels of %s and %s: %s", a, b, e)
        return False
    if ia.size != ib.size:
        return False
    if ia.mode == ib.mode == "RGB":
        return bool(np.array_equal(np.asarray(ia), np.asarray(ib)))
    pa, pb = np.asarray(ia.convert("RGBA")), np.asarray(ib.convert("RGBA"))
    if not np.array_equal(pa[..., 3], pb[..., 3]):
        return False
    seen = pa[..., 3] > 0
    return bool(np.array_equal(pa[..., :3][seen], pb[..., :3][seen]))


def fold_same_pixels(
    edges: Edges, twins: dict[int, list[ImageRecord]], records: dict[int, ImageRecord]
) -> tuple[Edges, dict[int, list[ImageRecord]]]:
    """Merge the sets of files with one content (``twins``: representative id -> files)
    whose pictures are pixel for pixel the same, found among candidate ``edges``.

    Returns:
        The edges between the remaining representatives (a merged set is represented
        by its best keeper; its pairs with a third picture keep their best
        similarity), and the merged sets.
    """
    parent = {i: i for i in twins}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, s in zip(edges.a.tolist(), edges.b.tolist(), edges.similarity.tolist()):
        ra, rb = records[a], records[b]
        if s < SAME_PIXELS_SIMILARITY or (ra.width, ra.height) != (rb.width, rb.height) or root(a) == root(b):
            continue
        if same_pixels(ra.path, rb.path):
            parent[root(b)] = root(a)
    sets: dict[int, list[int]] = {}
    for i in twins:
        sets.setdefault(root(i), []).append(i)
    if all(len(reps) == 1 for reps in sets.values()):
        return edges, twins
    rep = {i: min(reps, key=lambda r: keeper_rank(records[r])) for reps in sets.values() for i in reps}
    merged = {rep[reps[0]]: [f for r in reps for f in twins[r]] for reps in sets.values()}
    best: dict[tuple[int, int], float] = {}
    for a, b, s in zip(edges.a.tolist(), edges.b.tolist(), edges.similarity.tolist()):
        ma, mb = rep[a], rep[b]
        if ma != mb:
            key = (min(ma, mb), max(ma, mb))
            best[key] = max(best.get(key, s), s)
    pairs = sorted(best.items(), key=lambda kv: -kv[1])
    folded = Edges(np.array([p[0] for p, _ in pairs], np.int64), np.array([p[1] for p, _ in pairs], np.int64),
                   np.array([s for _, s in pairs], edges.similarity.dtype))
    return folded, merged
