"""A decoded picture as the network's input, with NumPy and Pillow only (no PyTorch):
resized to S x S (Pillow's bilinear filter, antialiased), scaled to [0, 1], normalised
by the config's mean and std, channels first. The same float32 values as the
torchvision transform the PyTorch encoder trains with (a test checks it bit for bit),
so either runtime sees the same input."""

from __future__ import annotations

import numpy as np
from PIL import Image

from selfsim.models.config import EncoderConfig


def to_pixels(image: Image.Image, config: EncoderConfig) -> np.ndarray:
    """One RGB image -> float32 array (3, S, S)."""
    s = config.input_size
    if image.mode != "RGB":
        image = image.convert("RGB")
    resized = image.resize((s, s), Image.Resampling.BILINEAR)
    scaled = np.asarray(resized, dtype=np.float32) * np.float32(1 / 255)  # as torchvision scales
    normalised = (scaled - np.asarray(config.mean, np.float32)) / np.asarray(config.std, np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1), dtype=np.float32)


def stack_pixels(images: list[Image.Image], config: EncoderConfig) -> np.ndarray:
    """Several images -> float32 array (N, 3, S, S)."""
    s = config.input_size
    out = np.empty((len(images), 3, s, s), dtype=np.float32)
    for i, im in enumerate(images):
        out[i] = to_pixels(im, config)
    return out
