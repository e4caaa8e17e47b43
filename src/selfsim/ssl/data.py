"""A dataset over a cleaned list of image files (no labels, no class folders)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from selfsim.data.reader import read_image


class ImageFiles(Dataset):
    """Reads each file with selfsim's safe reader and applies ``transform``.

    A transform with ``wants_other = True`` (copy pairs, which paste a picture onto
    another) is also given a function that reads a random other picture of the list.
    Files were checked by ``data.cleaning.clean`` before training, so a read error
    here means a file changed during training; it is raised, not hidden.
    """

    def __init__(self, files: Sequence[Path], transform: Callable[..., Any], min_side: int | None = None) -> None:
        self.files = list(files)
        self.transform = transform
        self.min_side = min_side

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, i: int) -> Image.Image:
        return read_image(self.files[i], min_side=self.min_side)

    def _other(self, i: int) -> Image.Image:
        j = int(torch.randint(0, len(self.files) - 1, ()))
        return self._read(j + (j >= i))  # any picture but the i-th

    def __getitem__(self, i: int) -> Any:
        if getattr(self.transform, "wants_other", False):
            return self.transform(self._read(i), lambda: self._other(i))
        return self.transform(self._read(i))
