"""Multi-view augmentation pipelines (torchvision v2), one per kind of method.

- ``generic`` (SimCLR, VICReg, BYOL): random resized crops, flips, colour jitter,
  grayscale and blur, after Chen et al. 2020, with milder crops for tiny images.
- ``copy`` (SSCD): the edits copies really undergo: heavy crops, flips, rotations,
  colour, blur, JPEG and text overlays (``eval/edits.py``), after Pizzi et al. 2022.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from selfsim.eval.edits import jpeg, text


class RandomCopyEdit:
    """Apply one of the hand-made copy edits (JPEG, text) with probability ``p``."""

    def __init__(self, p: float = 0.3, seed: int | None = None) -> None:
        self.p = p
        self.rng = np.random.default_rng(seed)

    def __call__(self, img: Image.Image) -> Image.Image:
        if self.rng.random() >= self.p:
            return img
        return (jpeg if self.rng.random() < 0.5 else text)(img, self.rng, None)


def view_transform(
    kind: str, size: int, mean: tuple[float, ...], std: tuple[float, ...], min_scale: float | None = None
) -> v2.Compose:
    """One random view of a PIL image as a normalised (3, size, size) tensor."""
    small = size <= 64
    blur = [v2.RandomApply([v2.GaussianBlur(kernel_size=max(3, size // 10) | 1)], p=0.5)] if not small else []
    if kind == "copy":
        steps: list = [
            RandomCopyEdit(p=0.3),
            v2.RandomResizedCrop(size, scale=(min_scale or 0.08, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.RandomRotation(20)], p=0.3),
            v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            v2.RandomGrayscale(0.2),
            *blur,
        ]
    else:
        steps = [
            v2.RandomResizedCrop(size, scale=(min_scale or (0.5 if small else 0.2), 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.2 if not small else 0.0, 0.1 if not small else 0.0)], p=0.8),
            v2.RandomGrayscale(0.2),
            *blur,
        ]
    return v2.Compose([*steps, v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))])


class TwoViews:
    """Two independent random views of one image."""

    def __init__(self, transform: v2.Compose) -> None:
        self.transform = transform

    def __call__(self, img: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(img), self.transform(img)
