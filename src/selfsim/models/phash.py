"""Perceptual hash (pHash) as a second, exact-copy signal beside the embedding.

pHash (a 64-bit sign pattern of the lowest DCT frequencies of a 32 x 32 grey
image; Zauner, 2010, via imagehash) is blind to crops and mirroring, but it is
very precise when it does match: on our benchmark no two different pictures came
within 8 bits, and heavily pixelated or blurred copies, which CNN features find
hard, stay within 2 bits of their original. selfsim stores one hash per indexed
image and lets a close hash vouch for a copy (see ``search/scoring.py``).
"""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

_WEIGHTS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


def phash64(img: Image.Image) -> int:
    """The 64-bit pHash of an image, as a signed int (fits SQLite's INTEGER)."""
    bits = np.asarray(imagehash.phash(img).hash, dtype=np.uint64).ravel()
    return int(np.int64(np.uint64((bits * _WEIGHTS).sum())))


def hamming(xq: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Bit distances between int64 hashes: (nq,), (nb,) -> (nq, nb) int."""
    x = np.bitwise_xor(xq.astype(np.int64)[:, None], xb.astype(np.int64)[None, :])
    return np.bitwise_count(x.view(np.uint64)).astype(np.int32)
