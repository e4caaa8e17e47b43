"""Stage 2b: self-supervised learning (methods, losses, training). Work in progress:
the losses are here; the training command comes with the training issue."""

from selfsim.ssl.losses import METHODS, SSCDLoss, make_loss

__all__ = ["METHODS", "SSCDLoss", "make_loss"]
