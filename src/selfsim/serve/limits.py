"""What one server accepts: request sizes, pixel counts, result counts, concurrency."""

from __future__ import annotations

from dataclasses import dataclass

#: Most hits one search returns.
MAX_K = 100
#: Most hits one search verifies geometrically.
MAX_VERIFY = 50
#: Longest side of a thumbnail.
MAX_THUMBNAIL = 1024
#: Most files in one add request.
MAX_FILES = 32


@dataclass(frozen=True)
class Limits:
    """Caps of one server (``selfsim serve --help`` sets them).

    Attributes:
        max_body_bytes: largest request body; a larger upload is refused with 413
            while it is read, and never held whole.
        max_pixels: largest picture (width x height), checked from its header before
            decoding (413).
        slots: searches, matches and adds computed at once.
        queue: requests that wait for a slot; more get 503 with ``Retry-After``.
        wait_s: the longest a request waits for a slot before 503.
    """

    max_body_bytes: int = 32 * 2**20
    max_pixels: int = 50_000_000
    slots: int = 2
    queue: int = 64
    wait_s: float = 30.0
