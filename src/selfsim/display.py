"""Paths as honest text for people: a terminal line, a line of an HTML report."""

from __future__ import annotations

import os
import unicodedata


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as one honest line of terminal text.

    Bytes that are not UTF-8 (lone surrogates after ``os.fsdecode``) show as ``\\xNN``;
    control characters (a newline in a name would forge a line) and invisible format
    characters (bidi overrides would disguise a name) as ``\\uNNNN``. JSON output keeps
    the exact name instead.
    """
    out = []
    for ch in os.fspath(path):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's escape of a byte that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
