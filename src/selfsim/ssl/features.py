"""A folder's descriptors as search computes them, before normalisation and whitening:
what label-free steps after training (the whitening) and evaluations fit on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from selfsim.models.encoder import Encoder
from selfsim.ssl.data import ImageFiles


@torch.inference_mode()
def pooled_features(encoder: Encoder, files: Sequence[Path], *, batch_size: int = 256, workers: int = 0,
                    progress: bool = True, desc: str = "embedding") -> np.ndarray:
    """(N, D) float32 pooled features of ``files``, in order, with the encoder in eval mode."""
    encoder.eval()
    loader = DataLoader(ImageFiles(files, encoder.transform, min_side=encoder.config.input_size),
                        batch_size=batch_size, num_workers=workers)
    device = encoder.device
    feats = [encoder.pooled(x.to(device)).float().cpu().numpy()
             for x in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False)]
    return np.concatenate(feats) if feats else np.zeros((0, int(encoder.backbone.num_features)), np.float32)
