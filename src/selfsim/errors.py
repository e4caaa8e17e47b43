"""Exceptions that selfsim raises for problems a user can fix.

Every message is one line that names the bad value and says what to do instead.
The CLI prints ``error: <message>`` and exits with status 1 for any of these.
"""

from __future__ import annotations


class SelfsimError(Exception):
    """Base class for errors caused by input or state the user controls."""


class ImageReadError(SelfsimError):
    """An image file could not be read; ``reason`` is a short, human phrase.

    ``kind`` says what went wrong, for callers that answer differently (the HTTP
    service): ``file`` (missing, unreadable, not a regular file), ``format`` (not an
    allowed image format), ``size`` (over the pixel cap) or ``data`` (corrupt or
    truncated image data).
    """

    KINDS = ("file", "format", "size", "data")

    def __init__(self, path: str, reason: str, kind: str = "data") -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.kind = kind


class ModelError(SelfsimError):
    """A model name, file or weights file is unknown or does not fit."""


class IndexStateError(SelfsimError):
    """An index directory is missing, broken, or was built with another model."""


class IndexDamagedError(IndexStateError):
    """An index's catalog cannot be read as it stands (``selfsim check --repair``)."""


class NoImagesError(SelfsimError):
    """A path holds no image that could be read."""
