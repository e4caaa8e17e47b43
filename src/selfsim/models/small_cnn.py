"""A small CNN that trains from scratch in minutes on a CPU, for small images.

It has the surface selfsim's encoder expects of a timm model (``forward_features``
returning a feature map, ``forward_head``, ``num_features``), so it pools, saves and
loads like any other backbone. Four stages of two 3x3 conv-BN-ReLU layers, each
stage halving the resolution: 32 x 32 inputs give a 4 x 4 x ``width*8`` map.
"""

from __future__ import annotations

import torch
from torch import nn

NAME = "selfsim_small_cnn"


def _stage(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.stages = nn.Sequential(
            _stage(3, w, True), _stage(w, 2 * w, True), _stage(2 * w, 4 * w, True), _stage(4 * w, 8 * w, False)
        )
        self.num_features = 8 * w

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = True) -> torch.Tensor:
        return x.mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
