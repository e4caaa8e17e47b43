"""timm backbones give the features timm itself computes, pooled as selfsim says.

Each test makes a small timm model with random weights, writes them to a file and
loads that file the way users do (``load_encoder(name, weights=...)``); the model it
was saved from is the reference. Both see the same preprocessed tensor.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from selfsim.models import load_encoder
from selfsim.models.encoder import Encoder

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402


def _reference(name: str, tmp_path: Path) -> tuple[nn.Module, Path]:
    """A timm model with random weights (eval mode), and the file they were saved to."""
    torch.manual_seed(0)
    ref = timm.create_model(name, pretrained=False, num_classes=0)
    with torch.no_grad():  # timm's init leaves norms at identity (and zeroes some): make every tensor count
        for m in ref.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    return ref.eval(), path


def _check(enc: Encoder, want: torch.Tensor, x: torch.Tensor) -> None:
    """``enc`` pools ``x`` to ``want``, and embeds the picture ``x`` came from as ``want`` normalised."""
    with torch.inference_mode():
        got = enc.pooled(x)
    assert got.shape == want.shape == (1, enc.dim)
    assert float(want.std()) > 1e-2  # varied features, not a constant row that many bugs would also give
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    embedded = torch.from_numpy(enc.embed([make_picture(0)]))
    torch.testing.assert_close(embedded, F.normalize(want, dim=1), rtol=1e-4, atol=1e-5)


def _features(ref: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return ref.forward_features(x)


@pytest.mark.parametrize("name", ["resnet18", "test_resnet"])
def test_cnn_pools_timm_features_by_gem_and_by_average(name: str, tmp_path: Path) -> None:
    ref, path = _reference(name, tmp_path)
    enc = load_encoder(name, weights=path, device="cpu")
    assert enc.config.pooling == "gem" and enc.dim == ref.num_features
    assert enc.config.input_size == ref.pretrained_cfg["input_size"][-1]
    assert enc.config.mean == tuple(ref.pretrained_cfg["mean"]) and enc.config.std == tuple(ref.pretrained_cfg["std"])
    x = enc.preprocess(make_picture(0))[None]
    feats = _features(ref, x)
    p = enc.config.gem_p
    _check(enc, feats.clamp(min=1e-6).pow(p).mean((2, 3)).pow(1 / p), x)  # GeM written out

    avg = Encoder(replace(enc.config, pooling="avg"), enc.backbone, enc.weights_sha256)
    with torch.inference_mode():
        want = ref.forward_head(feats, pre_logits=True)  # timm's own global average pooling
    _check(avg, want, x)


@pytest.mark.parametrize("name", ["vit_tiny_patch16_224", "test_vit", "test_vit2", "test_vit3"])
def test_vision_transformer_pools_tokens_as_timm_does(name: str, tmp_path: Path) -> None:
    # test_vit: CLS token; test_vit2: average of tokens; test_vit3: attention pooling
    ref, path = _reference(name, tmp_path)
    enc = load_encoder(name, weights=path, device="cpu")
    assert enc.config.pooling == "token" and enc.dim == ref.num_features
    assert enc.config.input_size == ref.pretrained_cfg["input_size"][-1]
    x = enc.preprocess(make_picture(0))[None]
    with torch.inference_mode():
        want = ref.forward_head(ref.forward_features(x), pre_logits=True)
    _check(enc, want, x)
