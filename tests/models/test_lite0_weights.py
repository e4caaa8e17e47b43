"""The packaged lukemelas-named weights must land in the right timm modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from selfsim.models.lite0_weights import load_lite0_state_dict, timm_name, weights_path

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_every_key_maps_with_matching_shapes() -> None:
    raw = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    own = model.state_dict()
    mapped = {timm_name(k): v for k, v in raw.items()}
    assert set(mapped) == set(own)
    assert all(mapped[k].shape == own[k].shape for k in own)


def test_name_mapping_examples() -> None:
    assert timm_name("_blocks.0._depthwise_conv.weight") == "blocks.0.0.conv_dw.weight"
    assert timm_name("_blocks.3._expand_conv.weight") == "blocks.2.0.conv_pw.weight"
    assert timm_name("_blocks.15._bn2.running_var") == "blocks.6.0.bn3.running_var"
    assert timm_name("_bn1.weight") == "bn2.weight"


@pytest.mark.parametrize("name,imagenet_class", [("baboon.jpg", 372), ("orange.jpg", 950)])
def test_mapped_weights_classify_real_photos(name: str, imagenet_class: int) -> None:
    """A wrong mapping (swapped BN stats, transposed blocks) cannot do this."""
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(load_lite0_state_dict(), strict=True)
    model.eval()
    img = Image.open(FIXTURES / name).convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 255
    x = (x - 0.5) / 0.5
    with torch.inference_mode():
        probs = model(x[None]).softmax(-1)[0]
    assert int(probs.argmax()) == imagenet_class
    assert float(probs[imagenet_class]) > 0.4
