"""Generalized-mean (GeM) pooling.

Radenovic, Tolias & Chum, "Fine-tuning CNN Image Retrieval with No Human
Annotation", TPAMI 2018. p=1 is average pooling, p->inf approaches max pooling;
p=3 is the usual choice for retrieval and copy detection (SSCD uses it too).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GeM(nn.Module):
    """Pool a feature map (B, C, H, W) to (B, C) with a generalized mean."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = p
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.clamp(min=self.eps).pow(self.p)
        return F.adaptive_avg_pool2d(x, 1).flatten(1).pow(1.0 / self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, eps={self.eps}"
