"""A folder's pooled features come back in order and equal the encoder's own on each picture."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from selfsim.ssl.features import pooled_features
from selfsim.ssl.train import TrainConfig, _encoder

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import picture_folder  # noqa: E402


def test_pooled_features_are_the_encoders_in_file_order(tmp_path: Path) -> None:
    files = sorted(picture_folder(tmp_path / "imgs", 7).glob("*"))[::-1]
    enc = _encoder(TrainConfig(input_size=32)).eval()
    got = pooled_features(enc, files, batch_size=3, progress=False)
    with torch.inference_mode():
        want = enc.pooled(torch.stack([enc.preprocess(Image.open(f).convert("RGB")) for f in files])).numpy()
    assert got.shape == (7, enc.backbone.num_features) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert pooled_features(enc, [], progress=False).shape == (0, enc.backbone.num_features)
