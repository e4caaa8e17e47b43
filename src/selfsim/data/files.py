"""Listing image files in folders.

Files are recognised by their first bytes, not their extension, so an
extensionless JPEG is found and a text file named ``x.jpg`` is reported rather
than silently dropped.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
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
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG2000"),  # a bare J2K codestream
]
#: Netpbm (PBM, PGM, PPM): "P1" to "P6" and a white-space character.
_NETPBM = tuple(f"P{i}".encode() for i in range(1, 7))


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
    if head[:2] in _NETPBM and head[2:3] in (b" ", b"\t", b"\n", b"\r"):
        return "PPM"
    return None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_kind(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a picture file without even opening it
    (``"FIFO"``, ``"broken symbolic link"``, ...), or None for a regular file.

    Opening a FIFO or a device blocks or never ends, so callers check this first.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "broken symbolic link" if os.path.islink(path) else "file not found"
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot read file ({e.strerror or e})"
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return f"not a regular file ({name})"
    return "not a regular file"


def _walk(root: Path, exclude: set[str]) -> Iterable[tuple[Path, str | None]]:
    """Every non-hidden file under ``root`` with why it is not a regular file (or None)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):  # .git, .thumbnails, an index kept inside the folder
                continue
            sub = here / d
            if os.path.realpath(sub) in exclude:
                continue
            if sub.is_symlink():  # not followed: loops and double counting
                yield sub, "symbolic link to a folder (not followed)"
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if not name.startswith("."):
                yield here / name, file_kind(here / name)


def find_images(
    paths: Iterable[str | os.PathLike[str]], exclude: Iterable[str | os.PathLike[str]] = ()
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """List candidate image files under files and folders (recursively).

    Args:
        paths: files or folders. A regular file named explicitly is always a candidate.
        exclude: folders not to look into (an index kept inside the picture folder).

    Returns:
        ``(images, skipped)``: regular files whose first bytes are an image format, and
        every other file found, with the reason it is not one (not an image file, a
        FIFO, a broken link, a symbolic link to a folder, ...), which callers report.

    Raises:
        SelfsimError: a path does not exist.
    """
    skip = {os.path.realpath(p) for p in exclude}
    images: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            kind = file_kind(path)
            if kind in ("broken symbolic link", "symbolic link loop"):
                skipped.append((path, kind))
                continue
            raise SelfsimError(f"path not found: {path}")
        if not path.is_dir():
            why = file_kind(path)
            if why is None:
                images.append(path)
            else:
                skipped.append((path, why))
            continue
        for f, why in _walk(path, skip):
            if why is not None:
                skipped.append((f, why))
            elif sniff_format(f) is not None:
                images.append(f)
            else:
                skipped.append((f, "not an image file"))
    return images, skipped
