"""PCA whitening of descriptors, learned without labels from a folder's own pictures.

Centring the descriptors on the collection's mean and rescaling their principal
directions to equal variance is the classic label-free adaptation of retrieval
descriptors to a collection (Jégou and Chum, ECCV 2012); copy-detection systems
such as SSCD whiten their descriptors the same way. A little shrinkage keeps the
weakest directions, mostly noise, from being blown up.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from selfsim.errors import ModelError

#: Shrinkage, as a fraction of the mean eigenvalue, added to every eigenvalue.
DEFAULT_SHRINKAGE = 0.1


class Whitening(nn.Module):
    """``x -> (x - mean) @ proj``: (B, D) descriptors to (B, d) whitened ones.

    Its two tensors are saved in the model file as ``whitening.mean`` and
    ``whitening.proj``.
    """

    mean: torch.Tensor
    proj: torch.Tensor

    def __init__(self, mean: torch.Tensor, proj: torch.Tensor) -> None:
        super().__init__()
        if mean.ndim != 1 or proj.ndim != 2 or proj.shape[0] != mean.shape[0]:
            raise ModelError(f"whitening tensors do not fit: mean {tuple(mean.shape)}, proj {tuple(proj.shape)}")
        self.register_buffer("mean", mean.float())
        self.register_buffer("proj", proj.float())

    @property
    def dim(self) -> int:
        return int(self.proj.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) @ self.proj

    @classmethod
    def fit(cls, features: np.ndarray, dim: int | None = None, shrinkage: float = DEFAULT_SHRINKAGE) -> Whitening:
        """Learn the whitening from (N, D) descriptors (not normalised, no labels).

        Args:
            dim: keep this many principal directions (default: all D).
            shrinkage: added to each eigenvalue, as a fraction of their mean.

        Raises:
            ModelError: fewer than 2 x D descriptors (the covariance would be guesswork).
        """
        x = np.asarray(features, dtype=np.float64)
        n, d_in = x.shape
        if n < 2 * d_in:
            raise ModelError(f"whitening {d_in}-d descriptors needs at least {2 * d_in} pictures, found {n}")
        dim = d_in if dim is None else dim
        if not 1 <= dim <= d_in:
            raise ModelError(f"whitening dimension {dim} out of range 1..{d_in}")
        mean = x.mean(0)
        eigval, eigvec = np.linalg.eigh(np.cov((x - mean).T))
        order = np.argsort(eigval)[::-1][:dim]
        eigval, eigvec = np.clip(eigval[order], 0, None), eigvec[:, order]
        proj = eigvec / np.sqrt(eigval + shrinkage * eigval.mean())
        return cls(torch.from_numpy(mean), torch.from_numpy(proj))
