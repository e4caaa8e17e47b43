"""Stage 2b: self-supervised learning: losses, multi-view augmentation, training."""

from selfsim.ssl.losses import METHODS, SSCDLoss, make_loss

__all__ = ["METHODS", "SSCDLoss", "make_loss"]
