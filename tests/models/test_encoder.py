from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file

from selfsim.errors import ModelError
from selfsim.models import GeM, load_encoder, save_encoder
from selfsim.models.encoder import Encoder

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_gem_matches_average_and_max() -> None:
    x = torch.rand(2, 3, 5, 5) + 0.1
    assert torch.allclose(GeM(p=1.0)(x), x.mean((2, 3)), atol=1e-6)
    assert torch.allclose(GeM(p=200.0)(x), x.amax((2, 3)), atol=2e-2)
    # p=3 by hand: cube root of the mean of cubes
    assert torch.allclose(GeM(p=3.0)(x), x.pow(3).mean((2, 3)).pow(1 / 3), atol=1e-6)


def test_default_embeddings_are_unit_and_deterministic(encoder: Encoder) -> None:
    imgs = [Image.open(FIXTURES / n).convert("RGB") for n in ("baboon.jpg", "orange.jpg")]
    a = encoder.embed(imgs)
    b = encoder.embed(imgs[::-1])[::-1]
    assert a.shape == (2, 1280) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.allclose(a, b, atol=1e-5)
    assert float(a[0] @ a[1]) < 0.6  # different pictures


def test_model_folder_round_trip(encoder: Encoder, tmp_path: Path) -> None:
    save_encoder(encoder, tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"config.json", "model.safetensors"}
    loaded = load_encoder(str(tmp_path / "m"), device="cpu")
    img = [Image.open(FIXTURES / "baboon.jpg").convert("RGB")]
    assert np.allclose(loaded.embed(img), encoder.embed(img), atol=1e-6)
    assert loaded.config.identity() == encoder.config.identity()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_timm_backbone_with_local_weights(tmp_path: Path, suffix: str) -> None:
    ref = timm.create_model("test_efficientnet", pretrained=False, num_classes=0, global_pool="")
    state = ref.state_dict()
    path = tmp_path / f"w{suffix}"
    if suffix == ".pth":
        torch.save({"state_dict": state}, path)  # nested, as training scripts save
    else:
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    enc = load_encoder("test_efficientnet", weights=path, device="cpu")
    assert all(torch.equal(enc.backbone.state_dict()[k], v) for k, v in state.items())
    out = enc.embed([Image.new("RGB", (50, 40), (10, 200, 30))])
    assert out.shape == (1, enc.dim)


def test_weights_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    torch.save({"conv_stem.weight": torch.zeros(1, 1, 1, 1)}, tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="does not fit"):
        load_encoder("test_efficientnet", weights=tmp_path / "bad.pth")


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_code_is_never_loaded(tmp_path: Path) -> None:
    with open(tmp_path / "evil.pth", "wb") as f:
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(ModelError, match="never unpickles"):
        load_encoder("test_efficientnet", weights=tmp_path / "evil.pth")


def test_unknown_model_lists_close_names() -> None:
    with pytest.raises(ModelError, match="unknown model 'resnet19'.*resnet18"):
        load_encoder("resnet19")


def test_timm_name_without_weights_is_refused() -> None:
    with pytest.raises(ModelError, match="needs --weights"):
        load_encoder("resnet18")


def test_missing_model_folder_is_named() -> None:
    with pytest.raises(ModelError, match="model folder not found: /gone/model"):
        load_encoder("/gone/model")


def test_cut_backbone_round_trips_and_keeps_the_default_fingerprint(encoder: Encoder, tmp_path: Path) -> None:
    from dataclasses import replace

    from selfsim.models.factory import cut_backbone, default_encoder

    before = default_encoder(device="cpu")
    assert before.fingerprint == encoder.fingerprint
    # the field added for cut backbones leaves existing fingerprints (and indexes) alone
    assert "feature_level" not in encoder.config.identity()
    cut = default_encoder(device="cpu")
    cut_backbone(cut.backbone, 3)
    cut = Encoder(replace(cut.config, feature_level=3, pooling="avg", input_size=64), cut.backbone, "x")
    assert cut.dim == 112 and cut.fingerprint != encoder.fingerprint
    save_encoder(cut, tmp_path / "cut")
    loaded = load_encoder(str(tmp_path / "cut"), device="cpu")
    img = [Image.open(FIXTURES / "baboon.jpg").convert("RGB")]
    assert loaded.embed(img).shape == (1, 112)
    assert np.allclose(loaded.embed(img), cut.embed(img), atol=1e-6)
    with pytest.raises(ModelError, match="feature level 9"):
        cut_backbone(default_encoder(device="cpu").backbone, 9)


def test_vision_transformer_embeds_one_vector_per_image(tmp_path: Path) -> None:
    # transformers pool their own tokens (CLS); a token sequence must never leak out as "the embedding"
    backbone = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0)
    save_file({k: v.contiguous() for k, v in backbone.state_dict().items()}, str(tmp_path / "vit.safetensors"))
    enc = load_encoder("vit_tiny_patch16_224", weights=tmp_path / "vit.safetensors", device="cpu")
    assert enc.config.pooling == "token"
    x = enc.embed([Image.open(FIXTURES / "baboon.jpg").convert("RGB")])
    assert x.shape == (1, 192) and np.isclose(np.linalg.norm(x), 1.0, atol=1e-5)
