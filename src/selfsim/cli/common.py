"""Shared CLI pieces: logging to stderr, progress bars, and error handling.

Light on purpose: command modules import only this, the standard library and
:mod:`selfsim.names` at the top, and the library inside ``run``, so that
``selfsim --help`` and each command's ``--help`` answer without loading NumPy,
OpenCV, FAISS or PyTorch."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from selfsim.display import display_path
from selfsim.names import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from tqdm import tqdm

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def say(message: str) -> None:
    """Messages go to stderr, so that stdout carries only data."""
    print(message, file=sys.stderr, flush=True)


def progress(total: int, desc: str, quiet: bool) -> tqdm:
    from tqdm import tqdm

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
