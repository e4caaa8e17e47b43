"""Reading weights files a user hands in, without ever unpickling code.

``.safetensors`` files are read with safetensors; ``.pth``/``.pt``/``.bin`` files
with ``torch.load(weights_only=True)``, which refuses pickled objects other than
tensors and plain containers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from selfsim.errors import ModelError

# Keys under which training scripts commonly nest the weights.
_NESTED_KEYS = ("state_dict", "model", "model_state_dict", "teacher", "student", "module")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a flat name -> tensor mapping from a weights file."""
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path), device="cpu")
        except Exception as e:  # safetensors raises its own error types
            raise ModelError(f"{path}: not a valid safetensors file ({e})") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(
            f"{path}: cannot be loaded safely as weights "
            f"(selfsim never unpickles code; save a state_dict or use .safetensors): {e}"
        ) from None
    for _ in range(3):  # unwrap {"model": {...}} and similar
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in _NESTED_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict):
        raise ModelError(f"{path}: expected a state dict of tensors, found {type(obj).__name__}")
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    for prefix in ("module.", "backbone.", "encoder."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def load_into(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load weights into a timm backbone that has no classifier, checking they fit.

    timm's per-architecture ``checkpoint_filter_fn`` is applied first when there is
    one, so that checkpoints in an architecture's original naming (for example
    DINOv2's) load into timm's modules.

    Raises:
        ModelError: keys the backbone needs are missing, or shapes differ.
    """
    filter_fn = getattr(sys.modules.get(type(model).__module__), "checkpoint_filter_fn", None)
    if filter_fn is not None:
        try:
            state = filter_fn(state, model)
        except Exception:  # the filter expects its own naming; fall back to the raw dict
            pass
    own = model.state_dict()
    wrong = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if wrong:
        k = wrong[0]
        raise ModelError(
            f"{source} does not fit {type(model).__name__}: {len(wrong)} tensors have other "
            f"shapes, e.g. {k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        )
    missing, _unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing:
        raise ModelError(
            f"{source} does not fit this backbone: {len(missing)} weights missing, "
            f"e.g. {', '.join(missing[:3])}"
        )
