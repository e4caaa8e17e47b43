"""Evaluation with class labels: does each method rank pictures of the same class first?

Labels come from a CSV file (``path,label``; paths relative to the file's folder or
absolute) or from the folder layout (each picture's class is its top-level folder
under the root). Each encoder indexes the pictures into a real index, and the
stored vectors and pHashes are ranked leave-one-out (:mod:`selfsim.eval.retrieval`).
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from selfsim.data.files import find_images
from selfsim.errors import SelfsimError
from selfsim.eval.retrieval import RetrievalMetrics, retrieval_metrics
from selfsim.index import Index
from selfsim.index.index import model_ref
from selfsim.index.ingest import sync
from selfsim.models.embedder import Embedder

#: Queries ranked against the whole set, at most (a seeded sample above this).
MAX_QUERIES = 5000


@dataclass(frozen=True)
class LabeledResult:
    """One row: ``name`` of the method, its metrics and wall-clock seconds."""

    name: str
    metrics: RetrievalMetrics
    seconds: float


@dataclass(frozen=True)
class LabeledEvaluation:
    rows: list[LabeledResult]
    n_pictures: int
    n_classes: int
    skipped: list[tuple[str, str]]


def labels_from_csv(path: str | os.PathLike[str]) -> dict[str, str]:
    """``path,label`` rows (a header row ``path,label`` is allowed) -> {resolved path: label}.

    Raises:
        SelfsimError: the file is missing, or a row does not have two fields.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as e:
        raise SelfsimError(f"cannot read the labels file {path}: {e.strerror or e}") from None
    labels: dict[str, str] = {}
    for n, row in enumerate(csv.reader(text.splitlines()), 1):
        if not row or (n == 1 and [c.strip().lower() for c in row] == ["path", "label"]):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise SelfsimError(f"{path}, line {n}: expected 'path,label', got {','.join(row)!r}")
        file = Path(row[0].strip())
        file = file if file.is_absolute() else path.parent / file
        labels[_key(file)] = row[1].strip()
    if not labels:
        raise SelfsimError(f"{path} has no 'path,label' rows")
    return labels


def labels_from_folders(root: str | os.PathLike[str]) -> dict[str, str]:
    """{resolved path: top-level folder name} for every picture in a subfolder of ``root``
    (pictures directly in ``root`` have no class and are left out)."""
    root = Path(root)
    if not root.is_dir():
        raise SelfsimError(f"not a folder: {root}")
    files, _ = find_images([root])
    labels = {_key(f): Path(f).relative_to(root).parts[0] for f in files if len(Path(f).relative_to(root).parts) > 1}
    if not labels:
        raise SelfsimError(f"no pictures in subfolders of {root}: with labels from folders, each class is a subfolder")
    return labels


def evaluate_labels(
    labels: dict[str, str],
    encoders: Sequence[tuple[str, Embedder]],
    work: Path,
    *,
    phash: bool = True,
    ks: Sequence[int] = (1, 5, 10),
    knn: int = 5,
    max_queries: int = MAX_QUERIES,
    seed: int = 0,
    on_stage: Callable[[str, int], Callable[[int], None] | None] | None = None,
) -> LabeledEvaluation:
    """Rank the labelled pictures with each encoder (and pHash), leave-one-out.

    Args:
        labels: {picture path: class}, as :func:`labels_from_csv` gives.
        work: where the indexes are made (``work/index-N``).
        max_queries: above this many pictures, a seeded sample of this many queries
            ranks all the pictures.
    """
    files = sorted(labels)
    if len({labels[f] for f in files}) < 2:
        raise SelfsimError("labels name only one class: nothing to tell apart")
    rows: list[LabeledResult] = []
    skipped: list[tuple[str, str]] = []
    n_pictures = n_classes = 0
    for n, (name, encoder) in enumerate(encoders):
        t0 = time.perf_counter()
        folder = work / f"index-{n}"
        index = Index.create(folder, model_ref(encoder)) if not folder.exists() else Index.open(folder, writable=True)
        bar = on_stage(f"indexing [{name}]", len(files)) if on_stage else None
        with index:
            report = sync(index, encoder, files, on_progress=bar)
            if n == 0:
                skipped = [(s.path, s.reason) for s in report.skipped]
            ids, xb = index.catalog.vectors(encoder.dim)
            paths = index.paths(ids)
            pids, hashes = index.catalog.phashes()
        y = [labels.get(_key(paths[int(i)])) for i in ids]
        keep = np.array([c is not None for c in y], dtype=bool)
        y_kept = np.array([c for c in y if c is not None])
        n_pictures, n_classes = int(keep.sum()), len(set(y_kept.tolist()))
        queries = _sample(n_pictures, max_queries, seed)
        rows.append(LabeledResult(f"selfsim [{name}]", retrieval_metrics(xb[keep], y_kept, ks=ks, knn=knn,
                                                                            queries=queries),
                                  time.perf_counter() - t0))
        if phash and n == 0:
            t0 = time.perf_counter()
            by_id = dict(zip(pids.tolist(), hashes.tolist()))
            bits = np.array([[(by_id[int(i)] >> b) & 1 for b in range(64)] for i in ids[keep]], dtype=bool)
            rows.insert(0, LabeledResult("pHash (imagehash)", retrieval_metrics(
                bits, y_kept, similarity="hamming", ks=ks, knn=knn, queries=queries), time.perf_counter() - t0))
    return LabeledEvaluation(rows, n_pictures, n_classes, skipped)


def _sample(n: int, at_most: int, seed: int) -> np.ndarray | None:
    if n <= at_most:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, at_most, replace=False))


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(path)
