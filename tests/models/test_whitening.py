"""PCA whitening: fitted without labels, saved in the model file, part of every embedding."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from selfsim.errors import ModelError
from selfsim.models import load_encoder
from selfsim.models.encoder import Encoder
from selfsim.models.factory import save_encoder
from selfsim.models.whitening import Whitening


def correlated(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) * np.linspace(3, 0.1, d)  # very unequal variances, correlated
    return rng.normal(size=(n, d)) @ mix.T + 5.0


def test_whitened_descriptors_are_centred_and_decorrelated() -> None:
    x = correlated(4000, 8)
    w = Whitening.fit(x, shrinkage=0.0)
    y = w(torch.from_numpy(x).float()).double().numpy()
    assert np.abs(y.mean(0)).max() < 1e-3
    assert np.allclose(np.cov(y.T), np.eye(8), atol=1e-3)
    # shrinkage damps the weakest directions, never the strongest much
    ys = Whitening.fit(x, shrinkage=0.1)(torch.from_numpy(x).float()).double().numpy().var(0)
    assert ys[0] > 0.85 and ys[-1] < 0.5


def test_whitening_needs_enough_pictures_and_a_sensible_size() -> None:
    with pytest.raises(ModelError, match="needs at least 16 pictures, found 10"):
        Whitening.fit(correlated(10, 8))
    with pytest.raises(ModelError, match="out of range 1..8"):
        Whitening.fit(correlated(100, 8), dim=9)
    assert Whitening.fit(correlated(100, 8), dim=3).dim == 3


def test_a_whitened_model_round_trips_through_its_folder(tmp_path: Path) -> None:
    from selfsim.ssl.train import TrainConfig, _encoder

    enc = _encoder(TrainConfig(input_size=32)).eval()
    x = torch.randn(600, 3, 32, 32)
    with torch.no_grad():
        w = Whitening.fit(enc.pooled(x).numpy(), dim=64)
    whitened = Encoder(replace(enc.config, whitening=64), enc.backbone, "trained", whitening=w)
    assert whitened.dim == 64 and whitened.fingerprint != enc.fingerprint
    save_encoder(whitened, tmp_path / "m")
    back = load_encoder(str(tmp_path / "m"), device="cpu")
    with torch.no_grad():
        assert torch.allclose(back(x[:5]), whitened(x[:5]), atol=1e-5)
    assert back(x[:5]).shape == (5, 64)

    with pytest.raises(ModelError, match="config says whitening=64, but no whitening was given"):
        Encoder(replace(enc.config, whitening=64), enc.backbone, "trained")
