"""What indexing and search need from a model: the PyTorch :class:`Encoder` or the
onnxruntime :class:`~selfsim.models.onnx.OnnxEncoder` (``selfsim export --onnx``).

The interface speaks NumPy only, so that indexing and search with an ONNX model
never load PyTorch."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from PIL import Image

from selfsim.models.config import EncoderConfig


class Embedder(Protocol):
    """Pixels to unit vectors, with what an index records about the model."""

    config: EncoderConfig
    spec: dict[str, str | None]

    @property
    def fingerprint(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def eval(self) -> Any: ...

    def pixels(self, image: Image.Image) -> np.ndarray:
        """One RGB image -> the network's input, float32 (3, S, S) (models/pixels.py)."""
        ...

    def embed_pixels(self, x: np.ndarray) -> np.ndarray:
        """Inputs (B, 3, S, S) -> float32 unit vectors (B, D)."""
        ...

    def embed(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray: ...


def fingerprint_of(config: EncoderConfig, weights_sha256: str) -> str:
    """Same fingerprint, same vectors: the config's identity and the weights' hash."""
    h = hashlib.sha256(config.identity().encode())
    h.update(weights_sha256.encode())
    return h.hexdigest()[:16]
