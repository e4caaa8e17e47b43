"""models/pixels.py: the NumPy input is bit for bit the torchvision transform's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.synthetic import synthetic_picture
from selfsim.models.encoder import Encoder
from selfsim.models.pixels import stack_pixels, to_pixels

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_numpy_pixels_equal_the_torchvision_transform(encoder) -> None:
    transform = Encoder.make_transform(encoder.config)
    pictures = [synthetic_picture(i, (640 - 60 * i, 100 + 70 * i)) for i in range(6)]
    pictures += [Image.open(FIXTURES / n).convert("RGB") for n in ("baboon.jpg", "orange.jpg")]
    pictures.append(pictures[0].convert("L"))  # another mode is converted to RGB first
    for picture in pictures:
        want = transform(picture.convert("RGB")).numpy()
        got = to_pixels(picture, encoder.config)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        assert np.array_equal(got, want)
    assert np.array_equal(stack_pixels(pictures[:2], encoder.config)[1], to_pixels(pictures[1], encoder.config))
