"""More candidates for verified search: the parts of a query a picture may be pasted into.

A picture pasted into another one at a third of its width is a small part of the
query; the whole query's embedding, its centre and its corners can all miss it, so
its original never reaches the shortlist that verification confirms. A grid of
smaller regions (4 x 4 regions of 40 % of each side, overlapping) finds it: on the
distractor benchmark's tuning seed (10,000 distractors), every pasted copy whose
original ranked below 20 had it within the regions' first three hits.

The regions' hits are only *candidates*: they are verified with local features like
the shortlist, and kept only when verification confirms them. Ranked by embedding
alone, small regions match unrelated pictures too often (more wrong top hits on
every other kind of copy), so they never change an unverified score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class RegionSearch:
    """A ``grid`` x ``grid`` lattice of query regions, ``share`` of each side, evenly
    spaced from corner to corner; each query adds its regions' ``hits`` best pictures
    (by their best similarity to any region) to the verification shortlist."""

    grid: int = 4
    share: float = 0.4
    hits: int = 3

    def __post_init__(self) -> None:
        if self.grid < 1 or not 0 < self.share < 1 or self.hits < 0:
            raise ValueError(f"bad region search: grid {self.grid}, share {self.share}, hits {self.hits}")

    def views(self, image: Image.Image) -> list[Image.Image]:
        """The regions of one query, row by row."""
        w, h = image.size
        cw, ch = max(1, round(w * self.share)), max(1, round(h * self.share))
        xs = np.linspace(0, w - cw, self.grid).round().astype(int).tolist()
        ys = np.linspace(0, h - ch, self.grid).round().astype(int).tolist()
        return [image.crop((x, y, x + cw, y + ch)) for y in ys for x in xs]

    def candidates(self, sims: np.ndarray, ids: np.ndarray, exclude: set[int]) -> list[tuple[int, float]]:
        """The ``hits`` best ``(id, similarity)`` of one query's regions, leaving out
        ``exclude`` (already on the shortlist).

        Args:
            sims, ids: each region's nearest pictures, (regions, depth), as the index
                returns them (id -1: no picture).
        """
        best: dict[int, float] = {}
        for s, i in zip(sims.ravel().tolist(), ids.ravel().tolist()):
            if i >= 0 and i not in exclude and s > best.get(i, -np.inf):
                best[i] = s
        return sorted(best.items(), key=lambda t: -t[1])[: self.hits]
