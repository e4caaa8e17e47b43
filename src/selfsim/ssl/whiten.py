"""The last, optional step of training: a PCA whitening fitted on the folder's descriptors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from selfsim.models.encoder import Encoder
from selfsim.models.whitening import Whitening
from selfsim.ssl.features import pooled_features

#: Pictures the whitening is fitted on, at most (a seeded sample of bigger folders).
MAX_PICTURES = 50_000


def fit_whitening(encoder: Encoder, files: Sequence[Path], seed: int = 0, batch_size: int = 256,
                  workers: int = 0, progress: bool = True) -> Whitening:
    """Embed ``files`` as search will (pooled, before whitening) and fit a whitening.

    Raises:
        ModelError: too few pictures for the descriptor size (see ``Whitening.fit``).
    """
    if len(files) > MAX_PICTURES:
        pick = np.random.default_rng(seed).choice(len(files), MAX_PICTURES, replace=False)
        files = [files[int(i)] for i in sorted(pick)]
    return Whitening.fit(pooled_features(encoder, files, batch_size=batch_size, workers=workers, progress=progress,
                                         desc="fitting whitening"))
