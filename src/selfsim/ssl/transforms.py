"""Augmentation pipelines (torchvision v2 and selfsim's copy edits), one per kind of method.

- :func:`view_transform` (SimCLR, VICReg, BYOL, SimSiam, DINO): random resized crops,
  flips, colour jitter, grayscale and blur, after Chen et al. 2020, with milder
  crops for tiny images. :class:`TwoViews` draws two such views of a picture.
- :class:`CopyPair` (SSCD): an *anchor*, the picture nearly as it would be indexed,
  and a *copy*, the picture after one or two of the edits copies really undergo
  (``data/edits.py``: crops, rotations, JPEG, blur, colour, text, pasting onto
  another picture of the folder, borders, perspective, pixelation, noise, ...),
  after Pizzi et al. 2022. The copy is resized exactly as the encoder resizes a
  query, so training sees what search will see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from selfsim.data.edits import EDITS, Edit
from selfsim.errors import SelfsimError


def view_transform(
    size: int, mean: tuple[float, ...], std: tuple[float, ...], min_scale: float | None = None
) -> v2.Compose:
    """One random view of a PIL image as a normalised (3, size, size) tensor."""
    small = size <= 64
    blur = [v2.RandomApply([v2.GaussianBlur(kernel_size=max(3, size // 10) | 1)], p=0.5)] if not small else []
    steps = [
        v2.RandomResizedCrop(size, scale=(min_scale or (0.5 if small else 0.2), 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.2 if not small else 0.0, 0.1 if not small else 0.0)], p=0.8),
        v2.RandomGrayscale(0.2),
        *blur,
    ]
    return v2.Compose([*steps, *_to_tensor(mean, std)])


def _to_tensor(mean: tuple[float, ...], std: tuple[float, ...]) -> list:
    return [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]


class TwoViews:
    """Two independent random views of one image."""

    def __init__(self, transform: v2.Compose) -> None:
        self.transform = transform

    def __call__(self, img: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(img), self.transform(img)


def _pixelate(img: Image.Image, rng: np.random.Generator, _: Image.Image | None = None) -> Image.Image:
    """Blocks of 1-2.4 % of the longer side (``data.edits.pixelate`` at any size)."""
    block = max(2, round(max(img.size) * rng.uniform(0.010, 0.024)))
    small = img.resize((max(1, img.width // block), max(1, img.height // block)), Image.Resampling.BILINEAR)
    return small.resize(img.size, Image.Resampling.NEAREST)


#: The edits a training copy gets: ``data/edits.py``'s, with sizes relative to the picture
#: (training pictures are shrunk before editing, for speed).
COPY_EDITS: dict[str, Edit] = {**EDITS, "pixelate": _pixelate}


def copy_edit_names(edits: Sequence[str] | None) -> list[str]:
    """The edits to draw from: all of :data:`COPY_EDITS` for None.

    Raises:
        SelfsimError: an unknown name, or none at all (the message lists the known ones).
    """
    names = sorted(COPY_EDITS) if edits is None else list(dict.fromkeys(edits))
    unknown = [n for n in names if n not in COPY_EDITS]
    if unknown or not names:
        raise SelfsimError(f"unknown copy edit(s) {', '.join(unknown) or '(none given)'}; "
                           f"choose from: {', '.join(sorted(COPY_EDITS))}")
    return names


def _rng() -> np.random.Generator:
    """A generator drawn from torch's RNG, which Lightning seeds per data-loading worker."""
    return np.random.default_rng(int(torch.randint(0, 2**62, ())))


class CopyPair:
    """(anchor, copy) of one picture for copy-detection training.

    Args:
        size: side of the square tensors (the encoder's input size).
        mean, std: the encoder's normalisation.
        max_edits: a copy gets between one and this many different edits.
        edits: names of the edits to draw from (default: all of :data:`COPY_EDITS`).
        work_side: pictures are shrunk to this longer side before editing (default:
            twice ``size``), which keeps editing cheap and the result unchanged at
            ``size``.
    """

    wants_other = True  # ImageFiles passes a way to read another picture of the folder (for pasting)

    def __init__(self, size: int, mean: tuple[float, ...], std: tuple[float, ...], max_edits: int = 2,
                 work_side: int | None = None, edits: Sequence[str] | None = None) -> None:
        names = copy_edit_names(edits)
        self.max_edits = min(max_edits, len(names))
        self.work_side = work_side or 2 * size
        self.anchor = v2.Compose([v2.RandomResizedCrop(size, scale=(0.6, 1.0), antialias=True),
                                  v2.RandomHorizontalFlip(), *_to_tensor(mean, std)])
        self.resize = v2.Compose([v2.Resize((size, size), antialias=True), *_to_tensor(mean, std)])
        self.names = names

    def _shrink(self, img: Image.Image) -> Image.Image:
        if max(img.size) > self.work_side:
            img = img.copy()
            img.thumbnail((self.work_side, self.work_side), Image.Resampling.BILINEAR)
        return img

    def edit(self, img: Image.Image, rng: np.random.Generator,
             other: Callable[[], Image.Image] | None = None) -> tuple[Image.Image, list[str]]:
        """``img`` after 1..max_edits different random edits; returns it and their names."""
        names = list(rng.choice(self.names, size=int(rng.integers(1, self.max_edits + 1)), replace=False))
        for name in names:
            background = self._shrink(other()) if name == "paste" and other is not None else None
            img = COPY_EDITS[name](img, rng, background)
        return img, names

    def __call__(self, img: Image.Image, other: Callable[[], Image.Image] | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        img = self._shrink(img)
        copy, _ = self.edit(img, _rng(), other)
        return self.anchor(img), self.resize(copy.convert("RGB"))
