"""Stage 2: turning pixels into vectors."""

from selfsim.models.config import EncoderConfig
from selfsim.models.embedder import Embedder
from selfsim.models.encoder import Encoder
from selfsim.models.factory import (
    default_encoder,
    load_embedder,
    load_encoder,
    load_model_folder,
    save_encoder,
    timm_encoder,
)
from selfsim.models.pooling import GeM

__all__ = [
    "Embedder",
    "Encoder",
    "EncoderConfig",
    "GeM",
    "default_encoder",
    "load_embedder",
    "load_encoder",
    "load_model_folder",
    "save_encoder",
    "timm_encoder",
]
