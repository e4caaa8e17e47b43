"""Stage 2b: self-supervised learning: losses, multi-view augmentation, training."""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

_EXPORTS = {
    "METHODS": "selfsim.ssl.losses",
    "SSCDLoss": "selfsim.ssl.losses",
    "make_loss": "selfsim.ssl.losses",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.ssl.losses import METHODS, SSCDLoss, make_loss

__all__ = ["make_loss", "METHODS", "SSCDLoss"]
