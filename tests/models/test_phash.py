from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.eval.baselines import phash_bits
from selfsim.models.phash import hamming, phash64

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_phash64_packs_imagehash_bits_and_hamming_counts_them() -> None:
    a = Image.open(FIXTURES / "baboon.jpg")
    b = Image.open(FIXTURES / "orange.jpg")
    ha, hb = phash64(a), phash64(b)
    assert -(2**63) <= ha < 2**63  # fits SQLite INTEGER
    expected = int((phash_bits(a) != phash_bits(b)).sum())
    assert hamming(np.array([ha, hb]), np.array([ha, hb])).tolist() == [[0, expected], [expected, 0]]
    small = a.resize((48, 48))  # pHash survives heavy downscaling
    assert hamming(np.array([phash64(small)]), np.array([ha]))[0, 0] <= 6
