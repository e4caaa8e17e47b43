"""A dataset over a cleaned list of image files (no labels, no class folders)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from selfsim.data.reader import read_image


class ImageFiles(Dataset):
    """Reads each file with selfsim's safe reader and applies ``transform``.

    Files were checked by ``data.cleaning.clean`` before training, so a read error
    here means a file changed during training; it is raised, not hidden.
    """

    def __init__(self, files: Sequence[Path], transform: Callable[[Image.Image], Any], min_side: int | None = None) -> None:
        self.files = list(files)
        self.transform = transform
        self.min_side = min_side

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Any:
        return self.transform(read_image(self.files[i], min_side=self.min_side))
