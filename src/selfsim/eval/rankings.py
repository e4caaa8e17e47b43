"""Each method's answer to each query of a copy set: its best references, with scores.

selfsim's methods run as users run them: the references go into a real index
(:func:`selfsim.index.sync`) and queries go through :class:`selfsim.search.Searcher`.
The classical baselines score every reference (:mod:`selfsim.eval.baselines`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from selfsim.data.reader import read_image
from selfsim.eval.baselines import OrbRansac, phash_bits, phash_similarity
from selfsim.index import Index, is_index, sync
from selfsim.index.index import model_ref
from selfsim.models.embedder import Embedder
from selfsim.search import PhashVouch, ScoreNormalizer, Searcher, Verifier

#: Hits kept per query (the report shows them).
TOP = 5

Progress = Callable[[int], None] | None


@dataclass(frozen=True)
class Ranking:
    """A query's best references, best first: ``hits`` are (reference file name, score)."""

    query: str
    hits: list[tuple[str, float]]

    @property
    def top(self) -> tuple[str, float] | None:
        return self.hits[0] if self.hits else None


def phash_rankings(refs: Sequence[Path], queries: Sequence[Path], on_progress: Progress = None) -> list[Ranking]:
    """pHash (imagehash), score 1 - Hamming distance / 64, against every reference."""
    hb = np.stack([phash_bits(read_image(p)) for p in refs])
    out = []
    for q in queries:
        s = phash_similarity(phash_bits(read_image(q))[None], hb)[0]
        out.append(_ranking(q.name, refs, s))
        if on_progress is not None:
            on_progress(1)
    return out


def orb_rankings(refs: Sequence[Path], queries: Sequence[Path], on_progress: Progress = None) -> list[Ranking]:
    """ORB + ratio test + RANSAC homography (OpenCV), score = inliers, against every reference."""
    orb = OrbRansac()
    fb = [orb.features(read_image(p)) for p in refs]
    out = []
    for q in queries:
        fq = orb.features(read_image(q))
        s = np.array([orb.inliers(fq, f) for f in fb], dtype=np.float64)
        out.append(_ranking(q.name, refs, s))
        if on_progress is not None:
            on_progress(1)
    return out


def build_index(folder: str | os.PathLike[str], encoder: Embedder, refs_dir: Path, on_progress: Progress = None) -> Path:
    """Index ``refs_dir`` with ``encoder`` into ``folder`` (made, or brought up to date)."""
    index = Index.open(folder, writable=True) if is_index(folder) else Index.create(folder, model_ref(encoder))
    with index:
        index.check_model(model_ref(encoder))
        sync(index, encoder, [refs_dir], on_progress=on_progress)
    return Path(folder)


def search_rankings(
    index_dir: Path,
    encoder: Embedder,
    queries: Sequence[Path],
    *,
    verify: int = 0,
    plain: bool = False,
    on_progress: Progress = None,
) -> list[Ranking]:
    """selfsim search on an index built by :func:`build_index`.

    Args:
        verify: re-rank this many hits by geometric verification (``--verify``).
        plain: one view and raw cosine similarity (no flip, no central or corner crops, no
            normalisation, no pHash vouching): the scores ``selfsim dedup
            --min-similarity`` compares.
    """
    with Index.open(index_dir) as index:
        searcher = Searcher(
            index, encoder,
            flip=not plain, center_crop=0.0 if plain else 0.75, corner_crops=0.0 if plain else 0.65,
            normalizer=ScoreNormalizer(count=0) if plain else ScoreNormalizer(),
            vouch=None if plain else PhashVouch(),
            verifier=Verifier(index) if verify else None, verify_top=verify,
        )
        out = []
        for result in searcher.search_paths(queries, TOP):
            out.append(Ranking(Path(result.query).name, [(Path(h.path).name, h.score) for h in result.hits]))
            if on_progress is not None:
                on_progress(1)
    return out


def _ranking(query: str, refs: Sequence[Path], scores: np.ndarray) -> Ranking:
    order = np.argsort(-scores, kind="stable")[:TOP]
    return Ranking(query, [(refs[int(i)].name, float(scores[i])) for i in order])
