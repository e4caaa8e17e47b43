"""Stage 2: turning pixels into vectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

_EXPORTS = {
    "EncoderConfig": "selfsim.models.config",
    "Embedder": "selfsim.models.embedder",
    "Encoder": "selfsim.models.encoder",
    "default_encoder": "selfsim.models.factory",
    "load_embedder": "selfsim.models.loading",
    "load_encoder": "selfsim.models.factory",
    "load_model_folder": "selfsim.models.factory",
    "save_encoder": "selfsim.models.factory",
    "timm_encoder": "selfsim.models.factory",
    "GeM": "selfsim.models.pooling",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.models.config import EncoderConfig
    from selfsim.models.embedder import Embedder
    from selfsim.models.encoder import Encoder
    from selfsim.models.factory import (
        default_encoder,
        load_encoder,
        load_model_folder,
        save_encoder,
        timm_encoder,
    )
    from selfsim.models.loading import load_embedder
    from selfsim.models.pooling import GeM

__all__ = ["default_encoder", "Embedder", "Encoder", "EncoderConfig", "GeM", "load_embedder", "load_encoder", "load_model_folder", "save_encoder", "timm_encoder"]
