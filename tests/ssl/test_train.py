"""A few real training steps on a tiny generated image set, in seconds."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from selfsim.data.cleaning import clean
from selfsim.models import load_encoder
from selfsim.ssl.module import SSLModule, TrainingStopped, spread
from selfsim.ssl.train import TrainConfig, _encoder, train

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402


@pytest.fixture()
def tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(16):
        make_picture(i, (40, 40)).save(folder / f"{i}.png")
    return folder


def test_train_writes_a_model_that_indexes_and_resumes(tiny_folder: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(method="vicreg", epochs=1, batch_size=8, input_size=32, workers=0, checkpoint_every=1)
    data = clean([tiny_folder])
    out = tmp_path / "model"
    result = train(cfg, data, out, progress=False)
    assert result.steps == 2 and (out / "checkpoints" / "last.ckpt").is_file()
    enc = load_encoder(str(out), device="cpu")
    assert enc.config.info["method"] == "vicreg" and enc.config.info["seed"] == 0
    x = enc.embed([make_picture(99, (40, 40))])
    assert x.shape == (1, 256) and np.isclose(np.linalg.norm(x), 1.0, atol=1e-5)

    more = TrainConfig(method="vicreg", epochs=2, batch_size=8, input_size=32, workers=0, checkpoint_every=1)
    resumed = train(more, data, out, resume=True, progress=False)
    assert resumed.steps == 4  # continued at step 2, not from zero
    assert resumed.steps_this_run == 2


def test_nan_loss_stops_training() -> None:
    cfg = TrainConfig(input_size=32)
    module = SSLModule(_encoder(cfg), "simclr", 1e-3, 0.0, 10)
    class NaNLoss(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.tensor(float("nan"))

    module.loss_fn = NaNLoss()
    x = torch.randn(4, 3, 32, 32)
    with pytest.raises(TrainingStopped, match="loss became nan"):
        module.training_step((x, x), 0)


def test_spread_detects_collapse() -> None:
    same = torch.ones(64, 16)
    assert spread(same) == pytest.approx(0.0, abs=1e-6)
    assert 0.8 < spread(torch.randn(512, 16)) < 1.2


def test_resume_without_checkpoint_is_a_clear_error(tiny_folder: Path, tmp_path: Path) -> None:
    from selfsim.errors import SelfsimError

    with pytest.raises(SelfsimError, match="nothing to resume"):
        train(TrainConfig(workers=0), clean([tiny_folder]), tmp_path / "m", resume=True, progress=False)
