"""Crash-safe training checkpoints.

Lightning writes a checkpoint straight over the old one, so a ``kill -9`` or a full
disk in the middle of a write can leave a truncated ``last.ckpt`` and nothing to
resume from. This writer goes through :func:`selfsim.atomic.atomic_write`
(temporary file, fsync, rename), like model files: the old checkpoint or the new
one, never half of one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins import TorchCheckpointIO

from selfsim.atomic import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` with atomic saves (loading is unchanged)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda tmp: torch.save(checkpoint, tmp))
