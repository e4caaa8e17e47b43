"""Query images against an index."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from selfsim.data.files import find_images
from selfsim.data.reader import DEFAULT_MAX_PIXELS, read_image
from selfsim.errors import ImageReadError, SelfsimError
from selfsim.index.index import Index, model_ref
from selfsim.models.embedder import Embedder
from selfsim.models.phash import phash64
from selfsim.search.regions import RegionSearch
from selfsim.search.results import QueryResult, SearchHit
from selfsim.search.scoring import PhashVouch, ScoreNormalizer, background_sample
from selfsim.search.verify import Verifier

DEFAULT_VOUCH = PhashVouch()
DEFAULT_REGIONS = RegionSearch()
#: The background sample is read again when the collection has grown or shrunk by more
#: than this share since it was read (it changes little before; reading it means
#: listing every id, which a service adding pictures one by one should not do each time).
SAMPLE_REFRESH = 0.01
#: At most this many references' backgrounds are kept between searches.
REFERENCE_CACHE = 100_000


@dataclass(frozen=True)
class QueryFailure:
    query: str
    reason: str


class Searcher:
    """Embeds queries and ranks an index's images for each.

    Args:
        index: an open index built with ``encoder``.
        encoder: the index's model.
        flip: also embed the mirrored query, so that mirrored copies are found.
        center_crop: also embed the central part of the query (this share of each
            side), which finds copies with added borders, captions or warped edges.
            0 turns it off. Each indexed image keeps its best similarity over views.
        corner_crops: also embed the query's four corners (this share of each side),
            which finds pictures pasted off-centre into others (0 turns it off).
        normalizer: turns raw similarities into scores comparable across queries.
        vouch: lets a near-identical perceptual hash raise a reference's score
            (None turns it off).
        verifier, verify_top: re-rank the first ``verify_top`` hits of the shortlist by
            geometric verification (see ``search/verify.py``).
        regions: when verifying, also verify the best hits of a grid of query
            regions (pictures pasted into the query; see ``search/regions.py``);
            None turns it off.
        lock: held while the index is read for one batch of queries, so that a writer
            sharing the index (``selfsim serve``) never changes it half-way.
    """

    def __init__(
        self,
        index: Index,
        encoder: Embedder,
        *,
        flip: bool = True,
        center_crop: float = 0.75,
        corner_crops: float = 0.65,
        normalizer: ScoreNormalizer | None = None,
        vouch: PhashVouch | None = DEFAULT_VOUCH,
        verifier: Verifier | None = None,
        verify_top: int = 0,
        regions: RegionSearch | None = DEFAULT_REGIONS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        index.check_model(model_ref(encoder))
        self.lock = lock if lock is not None else nullcontext()
        self.index = index
        self.encoder = encoder
        self.flip = flip
        if not 0 <= center_crop < 1:
            raise SelfsimError(f"center_crop must be in [0, 1), got {center_crop}")
        self.center_crop = center_crop
        if not 0 <= corner_crops < 1:
            raise SelfsimError(f"corner_crops must be in [0, 1), got {corner_crops}")
        self.corner_crops = corner_crops
        self._sample: tuple[int, np.ndarray, np.ndarray] | None = None  # (index size, ids, vectors)
        self._reference_cache: dict[int, float] = {}  # id -> the reference's background
        self.normalizer = normalizer or ScoreNormalizer()
        self.vouch = vouch
        self.verifier = verifier
        self.verify_top = verify_top if verifier is not None else 0
        self.regions = regions
        self.max_pixels = max_pixels

    def query_views(self, image: Image.Image) -> list[Image.Image]:
        """The views of one query that are embedded and searched."""
        views = [image]
        if self.flip:
            views.append(ImageOps.mirror(image))
        if self.center_crop:
            w, h = image.size
            cw, ch = max(1, round(w * self.center_crop)), max(1, round(h * self.center_crop))
            x, y = (w - cw) // 2, (h - ch) // 2
            views.append(image.crop((x, y, x + cw, y + ch)))
        if self.corner_crops:
            w, h = image.size
            cw, ch = max(1, round(w * self.corner_crops)), max(1, round(h * self.corner_crops))
            views += [image.crop((x, y, x + cw, y + ch)) for x in (0, w - cw) for y in (0, h - ch)]
        return views

    def embed_queries(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Query vectors (n, views, D)."""
        per_image = [self.query_views(im) for im in images]
        v = len(per_image[0]) if per_image else 1
        xq = self.encoder.embed([view for views in per_image for view in views])
        return xq.reshape(len(images), v, -1)

    def search_vectors(
        self, xq: np.ndarray, k: int, phashes: np.ndarray | None = None
    ) -> list[list[SearchHit]]:
        """Rank the index for query vectors (n, D) or (n, views, D).

        Args:
            phashes: the queries' pHashes (n,) int64; enables :class:`PhashVouch`.
        """
        _check_k(k)
        with self.lock:
            return self._search_vectors(xq, k, phashes)

    def _search_vectors(self, xq: np.ndarray, k: int, phashes: np.ndarray | None) -> list[list[SearchHit]]:
        views = xq if xq.ndim == 3 else xq[:, None, :]
        n, v, d = views.shape
        depth = min(len(self.index), max(k, self.normalizer.depth))
        if depth == 0:
            return [[] for _ in range(n)]
        D, I = self.index.search(views.reshape(n * v, d), depth)
        D, I = D.reshape(n, v * depth), I.reshape(n, v * depth)
        vouched = self._phash_candidates(phashes) if phashes is not None else [None] * n
        sample = self._sample_vectors()
        results = []
        for q, (drow, irow, close) in enumerate(zip(D, I, vouched)):
            best: dict[int, float] = {}
            for s, i in zip(drow.tolist(), irow.tolist()):
                if i >= 0 and s > best.get(i, -np.inf):
                    best[i] = s
            nearest = np.array(sorted(best.values(), reverse=True), dtype=np.float32)
            if sample is None or len(sample[0]) == len(self.index):  # the sample is the collection
                background = self.normalizer.background(nearest)
            else:
                background = self.normalizer.query_background(
                    -np.sort(-(sample[1] @ views[q].T).max(axis=1)), nearest)
            ids = np.fromiter(best, np.int64, len(best))
            offsets = np.broadcast_to(self.normalizer.offsets(background, self._reference_backgrounds(ids)), len(ids))
            scores = {i: best[i] - float(o) for i, o in zip(ids.tolist(), offsets.tolist())}
            if close is not None:
                self._vouch(views[q], close, background, best, scores)
            ranked = sorted(scores.items(), key=lambda t: -t[1])[:k]
            results.append([SearchHit("", float(sc), float(best[i]), i) for i, sc in ranked])
        paths = self.index.paths(sorted({h.id for hits in results for h in hits}))
        # A read-only index reads one snapshot, so every id has its path; an index open
        # for writing elsewhere in this process might not: such hits are left out.
        return [[SearchHit(paths[h.id], h.score, h.similarity, h.id) for h in hits if h.id in paths]
                for hits in results]

    def _sample_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The ids and vectors of the background sample (None: not needed, as the
        collection is no larger than the sample and references have no background)."""
        n = len(self.index)
        norm = self.normalizer
        if not norm.count or (n <= norm.sample and not norm.reference):
            return None
        stale = self._sample is None or (self._sample[0] != n if n <= norm.sample
                                         else abs(n - self._sample[0]) > SAMPLE_REFRESH * self._sample[0])
        if stale:
            ids = background_sample(self.index.catalog.ids(), norm.sample)
            self._sample = (n, ids, self.index.vectors(ids).astype(np.float32))
            self._reference_cache = {}
        assert self._sample is not None
        return self._sample[1], self._sample[2]

    def _reference_backgrounds(self, ids: np.ndarray) -> np.ndarray | None:
        """Each reference's own background (cached per sample); None when unused."""
        sample = self._sample_vectors() if self.normalizer.reference else None
        if sample is None:
            return None
        cache = self._reference_cache
        todo = np.array([i for i in ids.tolist() if i not in cache], dtype=np.int64)
        if len(todo):
            sample_ids, sample_vectors = sample
            sims = self.index.vectors(todo).astype(np.float32) @ sample_vectors.T
            sims[todo[:, None] == sample_ids[None, :]] = -np.inf  # not itself
            if len(cache) + len(todo) > REFERENCE_CACHE:
                cache.clear()
            cache.update(zip(todo.tolist(), self.normalizer.reference_backgrounds(sims).tolist()))
        return np.array([cache[i] for i in ids.tolist()], dtype=np.float32)

    def _phash_candidates(self, phashes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """For each query's pHash, the ``(ids, distances)`` it may vouch for, or None."""
        if self.vouch is None:
            return [None] * len(phashes)
        found = self.index.phash_search(phashes, self.vouch.max_distance)
        return [(ids, dist) if len(ids) and self.vouch.informative(int(h), len(ids)) else None
                for h, (ids, dist) in zip(phashes.tolist(), found)]

    def _vouch(
        self,
        views: np.ndarray,
        close: tuple[np.ndarray, np.ndarray],
        background: float,
        best: dict[int, float],
        scores: dict[int, float],
    ) -> None:
        """Raise the scores of references whose pHash vouches for them (in place);
        ``background`` is this query's (see ``ScoreNormalizer.offsets``)."""
        assert self.vouch is not None
        ids, dist = close
        sims = np.minimum((self.index.vectors(ids) @ views.T).max(axis=1), 1.0)  # float16 vectors
        offsets = self.normalizer.offsets(background, self._reference_backgrounds(ids))
        for i, s, vs in zip(ids.tolist(), sims.tolist(), self.vouch.score(dist, sims - offsets).tolist()):
            best[i] = max(best.get(i, -np.inf), s)
            if vs > scores.get(i, -np.inf):
                scores[i] = vs

    def search_images(
        self,
        images: Sequence[Image.Image],
        k: int = 10,
        verify_images: Sequence[Image.Image] | None = None,
        paths: Sequence[str | os.PathLike[str]] | None = None,
    ) -> list[list[SearchHit]]:
        """Rank the index for each image.

        Args:
            images: queries as :func:`read_image` gives them with ``min_side`` the
                model's input size (as indexing reads), so an indexed file found as
                a query scores exactly as itself.
            verify_images: the same queries at the detail verification needs
                (``images`` are used when None).
            paths: the queries' files, when known: an indexed query file that ties
                with its best hit comes first.
        """
        _check_k(k)
        phashes = np.array([phash64(im) for im in images], dtype=np.int64) if self.vouch else None
        shortlist = max(k + 4, self.verify_top)  # a few more than asked: ties at the cut-off
        results = self.search_vectors(self.embed_queries(images), shortlist, phashes)
        if self.verifier is not None and self.verify_top > 0:
            detail = verify_images if verify_images is not None else images
            extra = self._region_candidates(images, results)
            results = [self.verifier.verify(im, hits, self.verify_top, also=more)
                       for im, hits, more in zip(detail, results, extra)]
        if paths is not None:
            results = [_itself_first(os.path.realpath(p), hits) for p, hits in zip(paths, results)]
        return [hits[:k] for hits in results]

    def _region_candidates(self, images: Sequence[Image.Image],
                           shortlists: list[list[SearchHit]]) -> list[list[SearchHit]]:
        """For each query, the best hits of its regions that verification would not
        check otherwise (to be verified, and kept only if it confirms them)."""
        if self.regions is None or not self.regions.hits or len(self.index) <= self.verify_top:
            return [[] for _ in images]  # (a collection this small is verified whole)
        per_image = [self.regions.views(im) for im in images]
        v = len(per_image[0]) if per_image else 0
        xq = self.encoder.embed([view for views in per_image for view in views])
        with self.lock:
            depth = min(len(self.index), self.regions.hits + self.verify_top)
            if depth == 0:
                return [[] for _ in images]
            D, I = self.index.search(xq, depth)
            found = [self.regions.candidates(D[q * v : (q + 1) * v], I[q * v : (q + 1) * v],
                                             {h.id for h in hits[: self.verify_top]})
                     for q, hits in enumerate(shortlists)]
            paths = self.index.paths(sorted({i for c in found for i, _ in c}))
        # Unverified, a region's hit has no score of its own: verification gives it one.
        return [[SearchHit(paths[i], -np.inf, float(s), i) for i, s in c if i in paths] for c in found]

    def read_query(self, path: str | os.PathLike[str]) -> tuple[Image.Image, Image.Image | None]:
        """A query file as embedding and verification need it: the embedding's view is
        read exactly as indexing reads (same pixels, same vector for the same file);
        verification's, only when verifying, at most the matcher's size.

        Raises:
            ImageReadError: the file cannot be read.
        """
        image = read_image(path, min_side=self.encoder.config.input_size, max_pixels=self.max_pixels)
        if not self.verify_top or self.verifier is None:
            return image, None
        side = self.verifier.matcher.extractor.max_side
        detail = read_image(path, min_side=side, max_pixels=self.max_pixels)
        if max(detail.size) > side:  # held at the matcher's size, not the file's
            detail.thumbnail((side, side), Image.Resampling.BILINEAR)
        return image, detail

    def search_paths(
        self,
        paths: Sequence[str | os.PathLike[str]],
        k: int = 10,
        *,
        batch_size: int = 16,
        on_failure: Callable[[QueryFailure], None] | None = None,
    ) -> Iterator[QueryResult]:
        """Search every image under ``paths`` (files or folders), in order.

        Each query is shrunk to what the model and verification need as soon as it
        is decoded, so a batch of huge pictures costs one full decode at a time.
        Unreadable queries are passed to ``on_failure`` and skipped.
        """
        _check_k(k)
        files, skipped = find_images(paths, exclude=[self.index.path])
        for f, why in skipped:
            if on_failure is not None:
                on_failure(QueryFailure(str(f), why))
        for start in range(0, len(files), batch_size):
            chunk: list[str] = []
            images: list[Image.Image] = []
            details: list[Image.Image] = []
            for f in files[start : start + batch_size]:
                try:
                    image, detail = self.read_query(f)
                except ImageReadError as e:
                    if on_failure is not None:
                        on_failure(QueryFailure(str(f), e.reason))
                    continue
                chunk.append(str(f))
                images.append(image)
                if detail is not None:
                    details.append(detail)
            if not images:
                continue
            for q, hits in zip(chunk, self.search_images(images, k, details or None, chunk)):
                yield QueryResult(q, hits)


#: Scores this close are a tie (the same pixels embedded in different batches differ
#: by about 1e-6).
TIE = 1e-4


def _itself_first(query: str, hits: list[SearchHit]) -> list[SearchHit]:
    """When the query file is itself indexed and ties with the best hit (an identical
    copy elsewhere, the same picture in another lossless format), it comes first."""
    if not hits or hits[0].path == query:
        return hits
    for n, h in enumerate(hits):
        if h.score < hits[0].score - TIE:
            break
        if h.path == query:
            return [h, *hits[:n], *hits[n + 1 :]]
    return hits


def _check_k(k: int) -> None:
    if k < 1:
        raise SelfsimError(f"the number of hits (-k) must be at least 1, got {k}")


__all__ = ["DEFAULT_VOUCH", "QueryFailure", "Searcher", "model_ref"]
