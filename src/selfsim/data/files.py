"""Listing image files in folders.

Files are recognised by their first bytes, not their extension, so an
extensionless JPEG is found and a text file named ``x.jpg`` is reported rather
than silently dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from selfsim.errors import SelfsimError

# Magic numbers of the formats selfsim reads (see reader.ALLOWED_FORMATS).
_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (8, b"WEBP", "WEBP"),
    (4, b"ftypheic", "HEIF"),
    (4, b"ftypheix", "HEIF"),
    (4, b"ftyphevc", "HEIF"),
    (4, b"ftypmif1", "HEIF"),
    (4, b"ftypmsf1", "HEIF"),
    (4, b"ftypavif", "AVIF"),
    (4, b"ftypavis", "AVIF"),
]


def sniff_format(path: str | os.PathLike[str]) -> str | None:
    """Return the image format that a file's first bytes announce, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        # Hidden folders (.git, .thumbnails, an index kept inside the folder) are not pictures.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def find_images(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Path]]:
    """List candidate image files under files and folders (recursively).

    Args:
        paths: files or folders. A file named explicitly is always a candidate.

    Returns:
        ``(images, others)``: files whose first bytes are an image format, and the
        remaining files found in folders, which callers report as skipped.

    Raises:
        SelfsimError: a path does not exist.
    """
    images: list[Path] = []
    others: list[Path] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise SelfsimError(f"path not found: {path}")
        if path.is_file():
            images.append(path)
            continue
        for f in _walk(path):
            if not f.is_file():
                continue
            (images if sniff_format(f) is not None else others).append(f)
    return images, others
