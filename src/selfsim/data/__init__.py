"""Stage 1: finding and reading images safely."""

from selfsim.data.files import find_images, sniff_format
from selfsim.data.reader import DEFAULT_MAX_PIXELS, read_image

__all__ = ["DEFAULT_MAX_PIXELS", "find_images", "read_image", "sniff_format"]
