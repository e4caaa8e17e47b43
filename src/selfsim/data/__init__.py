"""Stage 1: finding and reading images safely."""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

_EXPORTS = {
    "find_images": "selfsim.data.files",
    "sniff_format": "selfsim.data.files",
    "DEFAULT_MAX_PIXELS": "selfsim.data.reader",
    "read_image": "selfsim.data.reader",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.data.files import find_images, sniff_format
    from selfsim.data.reader import DEFAULT_MAX_PIXELS, read_image

__all__ = ["DEFAULT_MAX_PIXELS", "find_images", "read_image", "sniff_format"]
