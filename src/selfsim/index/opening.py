"""Opening an index with the model that fills or searches it: the one place where
``selfsim index``, ``search``, ``dedup``, ``eval`` and ``serve`` decide which model
an index gets."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selfsim.display import display_path
from selfsim.errors import IndexDamagedError, ModelError
from selfsim.index.address import is_milvus
from selfsim.index.index import Index, is_index, model_ref
from selfsim.index.rebuild import set_aside
from selfsim.models import Embedder, load_embedder

log = logging.getLogger(__name__)


def index_encoder(index: Index, model: str | None = None, weights: str | None = None,
                  rebuild: bool = False) -> Embedder:
    """The encoder for ``index``: the model the index was built with, on the runtime
    it was built with, unless ``model`` (a name, folder or .onnx file, with ``weights``
    for a timm name) names another. ``default`` means the index's own default unless
    ``rebuild`` (then it is today's default: how an index moves to another runtime)."""
    spec = index.model.spec
    own = spec.get("model") or "default"
    if model and not (model == "default" and own == "default" and weights is None and not rebuild):
        return load_embedder(model, weights=weights)
    if rebuild and own == "default":
        return load_embedder("default", weights=weights)
    # Indexes made before the ONNX default recorded no runtime: theirs was PyTorch.
    runtime = (spec.get("runtime") or "torch") if own == "default" else None
    try:
        return load_embedder(own, weights=weights or spec.get("weights"), runtime=runtime)
    except ModelError as e:
        if runtime != "torch" or "PyTorch" not in str(e):
            raise
        raise ModelError(f"{index.path} was embedded with the default model on PyTorch, which is not installed: "
                         f"pip install 'selfsim[train]', or re-embed it with onnxruntime: "
                         f"selfsim index FOLDER --index {index.path} --rebuild") from None


def open_with_encoder(folder: str | os.PathLike[str], model: str | None = None,
                      weights: str | None = None) -> tuple[Index, Embedder]:
    """An existing index, read-only, with its encoder (see :func:`index_encoder`); a
    ``model`` other than the index's own is refused with a one-line error."""
    index = Index.open(folder)
    try:
        encoder = index_encoder(index, model, weights)
        index.check_model(model_ref(encoder))
    except BaseException:
        index.close()
        raise
    return index, encoder


@dataclass(frozen=True)
class OpenedIndex:
    """An index open for writing, the encoder that fills it, and whether it was there before."""

    index: Index
    encoder: Embedder
    existed: bool


def open_or_create_index(
    folder: str | os.PathLike[str],
    model: str | None = None,
    weights: str | None = None,
    kind: str | None = None,
    rebuild: bool = False,
    notify: Callable[[str], None] = log.warning,
) -> OpenedIndex:
    """The index at ``folder`` opened for writing, or a new one, with its encoder.

    An existing index is filled by its own model unless ``model`` names another,
    which must then be the same model (with ``rebuild`` anything goes: everything is
    re-embedded, and a damaged catalog is set aside first). ``kind`` switches an
    existing index to another vector file, or makes a new one of that kind.
    ``notify`` gets what a user should hear (a damaged catalog set aside).
    """
    index = _open_existing(folder if is_milvus(folder) else Path(folder), rebuild, notify)
    if index is None:
        encoder = load_embedder(model or "default", weights=weights)
        return OpenedIndex(Index.create(folder, model_ref(encoder), kind=kind or "auto"), encoder, False)
    try:
        encoder = index_encoder(index, model, weights, rebuild)
        if not rebuild:
            index.check_model(model_ref(encoder))
        if kind is not None:
            index.set_store_kind(kind)
    except BaseException:
        index.close()
        raise
    return OpenedIndex(index, encoder, True)


def _open_existing(folder: Path | str, rebuild: bool, notify: Callable[[str], None]) -> Index | None:
    """The existing index, or None; with ``rebuild`` a damaged catalog is set aside."""
    if not is_index(folder):
        return None
    try:
        return Index.open(folder, writable=True)
    except IndexDamagedError:
        if not rebuild:
            raise
    assert isinstance(folder, Path)  # a damaged catalog is a folder's
    moved = set_aside(folder)
    notify(f"the damaged catalog was moved to {display_path(moved)}; making a new one")
    return None
