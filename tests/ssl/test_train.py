"""A few real training steps on a tiny generated image set, in seconds."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from selfsim.data.cleaning import clean
from selfsim.models import load_encoder
from selfsim.ssl.module import SSLModule, TrainingStopped, spread
from selfsim.ssl.train import TrainConfig, _encoder, train

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture, picture_folder  # noqa: E402


@pytest.fixture()
def tiny_folder(tmp_path: Path) -> Path:
    return picture_folder(tmp_path / "imgs", 16)


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

    module.objective.loss = NaNLoss()
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


@pytest.mark.parametrize("method", ["simclr", "sscd", "vicreg", "simsiam", "byol", "dino"])
def test_every_method_trains_a_few_steps(method: str, tiny_folder: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(method=method, epochs=1, batch_size=8, input_size=32, workers=0)
    result = train(cfg, clean([tiny_folder]), tmp_path / method, progress=False)
    assert result.steps == 2
    enc = load_encoder(str(tmp_path / method), device="cpu")
    assert enc.config.info["method"] == method
    x = enc.embed([make_picture(1, (40, 40)), make_picture(2, (40, 40))])
    assert np.isfinite(x).all()
    torch.manual_seed(cfg.seed)  # train() starts from this same initialisation
    start = dict(_encoder(cfg).backbone.named_parameters())
    trained = enc.backbone.state_dict()
    # Only what the optimizer trains: batch-norm running statistics (buffers) change in
    # any forward pass in train mode, even when no optimizer step is ever taken.
    assert start and all(p.requires_grad for p in start.values())
    moved = [k for k, p in start.items() if not torch.equal(p.detach(), trained[k])]
    assert len(moved) > len(start) // 2, f"only {len(moved)} of {len(start)} parameters changed"


def test_momentum_teacher_follows_the_student_without_gradients() -> None:
    cfg = TrainConfig(input_size=32)
    module = SSLModule(_encoder(cfg), "byol", 1e-2, 0.0, 10)
    teacher = module.objective.teacher_features
    assert not any(p.requires_grad for p in teacher.parameters())
    opt = module.configure_optimizers()["optimizer"]
    assert not any(p is q for g in opt.param_groups for p in g["params"] for q in teacher.parameters())
    before = [p.clone() for p in teacher.parameters()]
    x = torch.randn(8, 3, 32, 32)
    loss = module.training_step((x, x.flip(3)), 0)
    loss.backward()
    opt.step()
    module.training_step((x, x.flip(3)), 1)  # the update happens at the start of a step
    moved = [not torch.equal(a, b) for a, b in zip(before, teacher.parameters())]
    assert any(moved)


def test_frozen_batch_norm_keeps_the_pretrained_statistics() -> None:
    cfg = TrainConfig.for_init("default", input_size=64)
    assert cfg.freeze_bn
    module = SSLModule(_encoder(cfg), "simclr", 1e-4, 0.0, 10, freeze_bn=True)
    module.train()
    bns = [m for m in module.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert any(m.training for m in module.objective.modules())  # the heads' own batch norm still trains
    stats = bns[0].running_mean.clone()
    x = torch.randn(4, 3, 64, 64)
    module.training_step((x, x.flip(3)), 0)
    assert torch.equal(stats, bns[0].running_mean)


def test_whiten_fits_on_the_folder_after_training(tmp_path: Path) -> None:
    folder = picture_folder(tmp_path / "many", 520, (32, 32))
    cfg = TrainConfig(method="simclr", epochs=1, batch_size=256, input_size=32, workers=0, holdout=0, whiten=True)
    train(cfg, clean([folder]), tmp_path / "m", progress=False)
    enc = load_encoder(str(tmp_path / "m"), device="cpu")
    assert enc.config.whitening == 256 and enc.whitening is not None
    assert enc.config.info["whitening"] == {"pictures": 520}
    x = enc.embed([make_picture(i, (32, 32)) for i in range(600, 700)])
    assert np.isclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5).all()
    assert abs(float(x.mean(0) @ x.mean(0))) < 0.1  # centred on the folder: no common direction left


def test_whiten_on_too_few_pictures_is_refused_before_training(tiny_folder: Path, tmp_path: Path) -> None:
    from selfsim.errors import SelfsimError

    cfg = TrainConfig(epochs=1, batch_size=8, input_size=32, workers=0, whiten=True)
    with pytest.raises(SelfsimError, match="--whiten needs at least 512 training pictures for 256-d descriptors, found 16"):
        train(cfg, clean([tiny_folder]), tmp_path / "m", progress=False)
    assert not (tmp_path / "m" / "checkpoints").exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"method": "moco"}, "unknown --method 'moco'; choose from: simclr"),
    ({"init": "resnet"}, "unknown --init 'resnet'; choose from: scratch, default, imagenet"),
    ({"backbone": "resnet181"}, "unknown --backbone 'resnet181': selfsim_small_cnn or a timm model name; did you mean: resnet18"),
    ({"init": "default", "backbone": "resnet18"}, "--backbone applies to --init scratch"),
    ({"init": "imagenet", "backbone": "resnet18"}, "--backbone applies to --init scratch"),
    ({"feature_level": 2}, "--feature-level applies to timm backbones"),
    ({"input_size": 16}, "--input-size must be 32..1024 px, got 16"),
    ({"epochs": 0}, "--epochs must be at least 1, got 0"),
    ({"batch_size": 1}, "--batch-size must be at least 2, got 1"),
    ({"checkpoint_every": 0}, "--checkpoint-every must be at least 1"),
    ({"workers": -1}, "--workers must be at least 0"),
    ({"holdout": -5}, "--holdout must be at least 0, got -5"),
    ({"lr": -1.0}, "--lr must be a positive number, got -1.0"),
    ({"lr": float("nan")}, "--lr must be a positive number, got nan"),
    ({"method": "dino", "copy_edits": ("crop",)}, "--edits applies to --method sscd, not dino"),
])
def test_settings_that_cannot_work_are_refused_in_one_line(overrides: dict, message: str) -> None:
    from selfsim.errors import SelfsimError

    cfg = TrainConfig(**overrides)
    with pytest.raises(SelfsimError) as e:
        cfg.check()
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_the_defaults_of_each_init_pass_the_check() -> None:
    TrainConfig().check()
    TrainConfig.for_init("default").check()
    imagenet = TrainConfig.for_init("imagenet")
    imagenet.check()
    assert replace(imagenet, init="default") == TrainConfig.for_init("default")  # the same recipe
    TrainConfig.for_init("default", input_size=64, feature_level=3, method="vicreg").check()
    TrainConfig(backbone="resnet18", feature_level=2).check()
