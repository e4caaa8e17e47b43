"""The one safe way selfsim turns a file into RGB pixels.

Every command reads images through :func:`read_image`, which
- accepts only allow-listed formats (JPEG, PNG, WebP, GIF first frame, BMP, TIFF,
  JPEG 2000, Netpbm, AVIF where Pillow has it, and HEIF with pillow-heif),
- checks the pixel count from the header *before* decoding, so a decompression
  bomb is refused and never decoded (cap: :data:`DEFAULT_MAX_PIXELS`),
- opens regular files only (a FIFO or a device would block for ever),
- decodes JPEGs at reduced size when fewer pixels are needed (Pillow draft mode),
  and shrinks other formats by an integer factor right after decoding, so a
  picture is held at the size its user needs, not at full size,
- applies EXIF orientation, and
- converts CMYK, 16-bit, float, palette and alpha images to 8-bit RGB the same way
  every time (transparent areas are composited onto white).
"""

from __future__ import annotations

import io
import math
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from selfsim.data import vips
from selfsim.data.files import file_kind
from selfsim.errors import ImageReadError
from selfsim.names import DEFAULT_MAX_PIXELS  # re-exported: 100 megapixels

_BASE_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "JPEG2000", "PPM")


def _optional_formats() -> tuple[str, ...]:
    try:  # HEIC/AVIF decoding comes from the optional pillow-heif plugin.
        import pillow_heif  # type: ignore[import-not-found]

        pillow_heif.register_heif_opener()
        return ("HEIF", "AVIF")
    except ImportError:
        return ("AVIF",) if "AVIF" in Image.registered_extensions().values() else ()


def _registered(formats: tuple[str, ...]) -> tuple[str, ...]:
    Image.init()  # load every Pillow plugin so that MPO, WebP, TIFF are known
    return tuple(f for f in formats if f in Image.OPEN)


ALLOWED_FORMATS: tuple[str, ...] = _registered(_BASE_FORMATS + _optional_formats())


def _to_rgb(img: Image.Image, keep_alpha: bool = False) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB deterministically (RGBA with ``keep_alpha``
    when the image has transparency)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit int) grey: keep the top 8 bits of a 16-bit range.
        arr = np.asarray(img, dtype=np.int64)
        arr8 = np.clip(arr >> 8, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        arr8 = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        if keep_alpha:
            return rgba
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    # CMYK, YCbCr, LAB, HSV, L, 1: Pillow's own conversions are deterministic.
    return img.convert("RGB")


#: ``info`` key of the file's own (width, height), EXIF orientation applied, when the
#: image was read smaller (``min_side``).
ORIGINAL_SIZE = "selfsim_original_size"
#: EXIF orientations that turn the picture a quarter.
_ORIENTATION_SWAPS = {5, 6, 7, 8}

#: Modes that :meth:`Image.reduce` averages correctly (not palette indices).
_REDUCIBLE = ("RGB", "RGBA", "L", "LA", "CMYK", "YCbCr")


def _shrink(img: Image.Image, min_side: int) -> Image.Image:
    """Reduce by the largest integer factor that keeps the shorter side >= ``min_side``."""
    factor = min(img.size) // max(1, min_side)
    return img.reduce(factor) if factor >= 2 else img


def _draft_size(size: tuple[int, int], min_side: int) -> tuple[int, int]:
    w, h = size
    scale = min_side / min(w, h)
    return max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))


def _vips_read(source: str | io.BytesIO, img: Image.Image, min_side: int | None,
               keep_alpha: bool) -> Image.Image | None:
    """A large still 8-bit PNG or WebP without EXIF rotation, read at reduced size by
    libvips (data/vips.py), or None to read it with Pillow."""
    if min_side is None or img.format not in vips.FORMATS or img.mode not in vips.MODES:
        return None
    factor = min(img.size) // max(1, min_side)
    if factor < 2 or getattr(img, "is_animated", False) or img.getexif().get(0x0112, 1) != 1:
        return None
    data = source.getvalue() if isinstance(source, io.BytesIO) else source
    out = vips.shrink_read(data, img.size, factor, keep_alpha and _has_alpha(img))
    if out is not None:
        out.info[ORIGINAL_SIZE] = img.size
    return out


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)


def read_image(
    path: str | os.PathLike[str] | bytes,
    *,
    min_side: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    keep_alpha: bool = False,
) -> Image.Image:
    """Read an image file as an 8-bit RGB Pillow image.

    Args:
        path: the file, or the bytes of one (an upload; named ``upload`` in errors).
        min_side: when given, the image is returned smaller as long as its shorter
            side stays at least this long: JPEGs are decoded at a reduced scale
            (1/2, 1/4, 1/8), other formats are reduced by an integer factor (box
            filter) after decoding. The same call gives the same pixels every time.
        max_pixels: refuse images with more pixels than this, before decoding.
        keep_alpha: an image with transparency comes back as RGBA, not composited
            onto white (to tell pictures apart that differ only in transparency).

    Returns:
        An RGB image (RGBA only with ``keep_alpha``) with EXIF orientation applied;
        ``info[ORIGINAL_SIZE]`` is the file's own size (as shown), whatever size it
        was read at.

    Raises:
        ImageReadError: the file is missing, not an allowed image format, too large,
            truncated or corrupt. ``reason`` says which.
    """
    source: str | io.BytesIO
    if isinstance(path, bytes):
        name, source = "upload", io.BytesIO(path)
    else:
        name = source = os.fspath(path)
        kind = file_kind(name)
        if kind is not None:
            raise ImageReadError(name, kind, "file")
    try:
        with warnings.catch_warnings():
            # Pillow warns (not raises) above its own limit; our cap is checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source, formats=ALLOWED_FORMATS)
    except FileNotFoundError:
        raise ImageReadError(name, "file not found", "file") from None
    except IsADirectoryError:
        raise ImageReadError(name, "is a folder, not a file", "file") from None
    except PermissionError:
        raise ImageReadError(name, "permission denied", "file") from None
    except Image.DecompressionBombError:
        raise ImageReadError(name, "too large to decode safely (decompression bomb?)", "size") from None
    except UnidentifiedImageError:
        raise ImageReadError(name, "not an image in a supported format", "format") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageReadError(name, f"unreadable header ({e})") from None
    except Exception as e:  # a malformed file can make any decoder fail in its own way
        raise ImageReadError(name, f"unreadable header ({type(e).__name__}: {e})") from None

    with img:
        w, h = img.size
        if w <= 0 or h <= 0:
            raise ImageReadError(name, f"invalid size {w}x{h}")
        if w * h > max_pixels:
            raise ImageReadError(
                name, f"too large: {w}x{h} = {w * h:,} pixels exceeds the cap of {max_pixels:,}", "size"
            )
        fast = _vips_read(source, img, min_side, keep_alpha)
        if fast is not None:
            return fast
        try:
            if getattr(img, "is_animated", False):
                img.seek(0)  # first frame of a GIF/WebP animation
            if min_side is not None and img.format in ("JPEG", "MPO"):
                img.draft("RGB", _draft_size(img.size, min_side))
            img.load()
            out: Image.Image = img
            if min_side is not None and out.mode in _REDUCIBLE:
                out = _shrink(out, min_side)
            out = ImageOps.exif_transpose(out) or out
            rgb = _to_rgb(out, keep_alpha)
            if min_side is not None:
                rgb = _shrink(rgb, min_side)
            rgb = rgb.copy() if rgb is img else rgb
            turned = _ORIENTATION_SWAPS.intersection([img.getexif().get(0x0112)])
            rgb.info[ORIGINAL_SIZE] = (h, w) if turned else (w, h)
            return rgb
        except MemoryError:
            raise ImageReadError(name, "too large to decode in the memory available", "size") from None
        except Exception as e:  # Pillow's decoders raise many kinds of error on malformed data
            reason = str(e) or type(e).__name__
            if "truncated" in reason.lower() or isinstance(e, EOFError):
                reason = f"truncated file ({reason})"
            elif isinstance(e, (OSError, ValueError, SyntaxError, Image.DecompressionBombError)):
                reason = f"corrupt image data ({reason})"
            else:
                reason = f"corrupt image data ({type(e).__name__}: {reason})"
            raise ImageReadError(name, reason) from None
