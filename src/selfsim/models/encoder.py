"""The encoder: pixels -> one L2-normalised vector per image.

``Encoder`` wraps any timm backbone with pooling and normalisation, and does its
own preprocessing, so that callers hand it decoded RGB images and get arrays.
Embedding is a pure function of a batch of decoded images (:meth:`embed`), which
is what a distributed runner (Ray Data, DDP) calls later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.transforms import v2

from selfsim.errors import ModelError
from selfsim.models.config import EncoderConfig
from selfsim.models.embedder import fingerprint_of
from selfsim.models.pixels import stack_pixels, to_pixels
from selfsim.models.pooling import GeM
from selfsim.models.whitening import Whitening


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Encoder(nn.Module):
    """A backbone, a pooling layer, an optional whitening and L2 normalisation.

    Args:
        config: how inputs are prepared and features pooled.
        backbone: a timm model created with ``num_classes=0`` (or selfsim's small CNN).
        weights_sha256: content hash of the weights, part of :attr:`fingerprint`.
        spec: ``{"model": ..., "weights": ...}`` that ``load_encoder`` accepts.
        whitening: learned after training (``config.whitening`` gives its size).
    """

    backbone: Any  # a timm model: forward_features, forward_head, num_features

    def __init__(
        self,
        config: EncoderConfig,
        backbone: nn.Module,
        weights_sha256: str,
        spec: dict[str, str | None] | None = None,
        whitening: Whitening | None = None,
    ) -> None:
        super().__init__()
        if (whitening is None) != (config.whitening is None) or (whitening and whitening.dim != config.whitening):
            raise ModelError(f"config says whitening={config.whitening}, but "
                             f"{'no whitening' if whitening is None else f'{whitening.dim}-d whitening'} was given")
        self.whitening = whitening
        self.config = config
        #: what to pass to ``load_encoder`` to get this encoder back
        self.spec: dict[str, str | None] = spec or {"model": config.name, "weights": None}
        self.backbone = backbone
        self.pool = GeM(config.gem_p)
        self.weights_sha256 = weights_sha256
        self.transform = self.make_transform(config)

    @staticmethod
    def make_transform(config: EncoderConfig) -> v2.Compose:
        """PIL RGB image -> normalised (3, S, S) tensor, as ``config`` says."""
        s = config.input_size
        return v2.Compose(
            [
                v2.Resize((s, s), interpolation=v2.InterpolationMode.BILINEAR, antialias=True),
                v2.PILToTensor(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(list(config.mean), list(config.std)),
            ]
        )

    @property
    def fingerprint(self) -> str:
        """Identifies what this encoder computes: same fingerprint, same vectors."""
        return fingerprint_of(self.config, self.weights_sha256)

    @property
    def dim(self) -> int:
        return self.whitening.dim if self.whitening is not None else int(self.backbone.num_features)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) normalised pixels -> (B, D) pooled features, not yet normalised
        (what self-supervised training works on)."""
        feats = self.backbone.forward_features(x)
        if feats.ndim == 4 and self.config.pooling == "gem":
            return self.pool(feats)
        if feats.ndim == 4 and self.config.pooling == "avg":
            return feats.mean((2, 3))
        return self.backbone.forward_head(feats, pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) normalised pixels -> (B, D) unit vectors."""
        h = self.pooled(x)
        return F.normalize(self.whitening(h) if self.whitening is not None else h, dim=-1)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """One RGB image -> (3, S, S) tensor (the values of :meth:`pixels`)."""
        return torch.from_numpy(self.pixels(image))

    def pixels(self, image: Image.Image) -> np.ndarray:
        """One RGB image -> float32 (3, S, S), bit for bit what :attr:`transform` gives."""
        return to_pixels(image, self.config)

    @torch.inference_mode()
    def embed_pixels(self, x: np.ndarray) -> np.ndarray:
        """Inputs (B, 3, S, S) from :meth:`pixels` -> float32 unit vectors (B, D)."""
        if self.training:
            self.eval()
        return self(torch.from_numpy(np.ascontiguousarray(x)).to(self.device)).float().cpu().numpy()

    @torch.inference_mode()
    def embed(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Embed decoded RGB images.

        Returns:
            float32 array (N, D), rows of unit length.
        """
        if self.training:
            self.eval()
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for i in range(0, len(images), batch_size):
            chunk = list(images[i : i + batch_size])
            out[i : i + len(chunk)] = self.embed_pixels(stack_pixels(chunk, self.config))
        return out
