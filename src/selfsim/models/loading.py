"""``load_embedder``: the model that indexing and search run, from what a user typed.

An ``.onnx`` file runs with onnxruntime and loads no PyTorch; anything else (the
default model, a model folder, a timm name) is a PyTorch :class:`Encoder`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfsim.errors import ModelError

if TYPE_CHECKING:
    from selfsim.models.embedder import Embedder

ONNX_SUFFIX = ".onnx"


def load_embedder(model: str = "default", *, weights: str | Path | None = None, device: Any = None) -> Embedder:
    """What indexing and search run: :func:`~selfsim.models.factory.load_encoder`'s
    models, and ``.onnx`` files written by ``selfsim export --onnx`` (run with
    onnxruntime on the CPU, without PyTorch).

    Raises:
        ModelError: as ``load_encoder``; an ONNX file without its config, or
            onnxruntime missing; PyTorch missing for a PyTorch model.
    """
    if model.endswith(ONNX_SUFFIX):
        if weights is not None:
            raise ModelError("--weights applies to timm model names, not to an ONNX file")
        if not Path(model).is_file():
            raise ModelError(f"ONNX model not found: {model}")
        from selfsim.models.onnx import OnnxEncoder

        return OnnxEncoder(model)
    try:
        from selfsim.models.factory import load_encoder
    except ImportError as e:
        raise ModelError(f"model '{model}' runs on PyTorch, which is not installed ({e.name} is missing); "
                         f"install it, or use an .onnx model from `selfsim export --onnx`") from None
    return load_encoder(model, weights=weights, device=device)
