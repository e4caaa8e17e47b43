"""Shared CLI pieces: logging to stderr, progress bars, and error handling."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from selfsim.data.reader import DEFAULT_MAX_PIXELS
from selfsim.display import display_path
from selfsim.errors import IndexDamagedError
from selfsim.index import Index, is_index
from selfsim.index.index import model_ref
from selfsim.index.rebuild import set_aside
from selfsim.models import Embedder, load_embedder

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def say(message: str) -> None:
    """Messages go to stderr, so that stdout carries only data."""
    print(message, file=sys.stderr, flush=True)


def progress(total: int, desc: str, quiet: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=quiet or None, dynamic_ncols=True)


def report_skipped(skipped: Sequence[tuple[str, str]], quiet: bool) -> None:
    """One line per skipped file, then a count per reason."""
    if not skipped:
        return
    if not quiet:
        for path, reason in skipped:
            say(f"skipped {display_path(path)}: {reason}")
    by_reason = Counter(_reason_kind(r) for _, r in skipped)
    summary = ", ".join(f"{n} {kind}" for kind, n in by_reason.most_common())
    say(f"skipped {len(skipped)} file(s): {summary}")


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0]


def add_model_args(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument(
        "--model",
        default=default,
        help="'default' (EfficientNet-Lite0, offline), a selfsim model folder, an .onnx file from "
        "'selfsim export --onnx' (index and search only), or a timm model name used with --weights"
        + (" (default: %(default)s)" if default else " (default: the index's own model)"),
    )
    p.add_argument("--weights", help="local .safetensors/.pth weights for a timm model name")


def positive_int(text: str) -> int:
    """argparse ``type=`` for counts and sizes that must be at least 1 (``-k``, ``--max-side``)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse ``type=`` for counts where 0 means none (``--verify``)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    # argparse prefixes the flag: "argument --max-side: must be a whole number >= 1, got '0'"
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text!r}")
    return value


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or per-file messages")
    p.add_argument(
        "--max-pixels",
        type=positive_int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse images larger than this many pixels, before decoding (default: %(default)s)",
    )


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


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
) -> OpenedIndex:
    """The index at ``folder`` opened for writing, or a new one, with its encoder.

    An existing index is filled by its own model unless ``model`` names another,
    which must then be the same model (with ``rebuild`` anything goes: everything is
    re-embedded, and a damaged catalog is set aside first). ``kind`` switches an
    existing index to another vector file, or makes a new one of that kind.
    """
    index = _open_existing(Path(folder), rebuild)
    if index is None:
        encoder = load_embedder(model or "default", weights=weights)
        return OpenedIndex(Index.create(folder, model_ref(encoder), kind=kind or "auto"), encoder, False)
    try:
        spec = index.model.spec
        encoder = load_embedder(model or spec.get("model") or "default",
                                weights=weights if model else (weights or spec.get("weights")))
        if not rebuild:
            index.check_model(model_ref(encoder))
        if kind is not None:
            index.set_store_kind(kind)
    except BaseException:
        index.close()
        raise
    return OpenedIndex(index, encoder, True)


def _open_existing(folder: Path, rebuild: bool) -> Index | None:
    """The existing index, or None; with ``rebuild`` a damaged catalog is set aside."""
    if not is_index(folder):
        return None
    try:
        return Index.open(folder, writable=True)
    except IndexDamagedError:
        if not rebuild:
            raise
    moved = set_aside(folder)
    say(f"the damaged catalog was moved to {display_path(moved)}; making a new one")
    return None
