"""The training quality probe: does the encoder find edited copies of the folder's pictures?

Before training and after epochs, a sample of the training pictures is embedded as
an index, and one edited copy of each (crops, rotations, JPEG, text, ... from
``data/edits.py``, drawn once with a fixed seed) is a query. Copies of the
held-out pictures, which are not indexed, are queries too: they must score low.
Each query's nearest neighbour by cosine is its prediction, and micro-AP and
recall@1 follow as in the copy-detection benchmark, with no labels: the right
answer of a copy is the picture it was made from, or nothing. Indexing the training
pictures themselves keeps the probe informative for a folder of 60 photos (a
probe of 6 held-out pictures reads 1.000 whatever the model); the held-out copies
catch a model that has learned to call everything a copy.

``selfsim train`` hands it to training (``selfsim.ssl.train.train(probe=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.reader import read_image
from selfsim.eval.metrics import CopyDetectionMetrics, PredictedMatch, copy_detection_metrics
from selfsim.models.encoder import Encoder
from selfsim.ssl.transforms import COPY_EDITS

#: Edits for the monitor's queries, in turn, unless training names its own (pasting
#: is left out: its background would be a second right answer).
MONITOR_EDITS = tuple(sorted(set(COPY_EDITS) - {"paste"}))
#: Training pictures indexed by the monitor, at most.
MAX_INDEXED = 200


class CopyRetrievalProbe:
    """Indexed pictures, one edited copy of each, and copies of unindexed pictures.

    Args:
        indexed: pictures to index (a sample of at most :data:`MAX_INDEXED` is taken).
        unindexed: pictures whose copies must not be matched (the held-out ones).
        seed: draws the sample and the edits, once.
        side: pictures are shrunk to this longer side before editing and kept so
            (twice the encoder's input size is plenty).
        edits: the copy edits to apply, in turn: those the user said copies undergo
            (``--edits``); None, or only ``paste``: :data:`MONITOR_EDITS`.
    """

    def __init__(self, indexed: Sequence[Path], unindexed: Sequence[Path] = (), seed: int = 0,
                 side: int = 512, edits: Sequence[str] | None = None) -> None:
        rng = np.random.default_rng(seed)
        self.edits = tuple(sorted(set(edits or ()) - {"paste"})) or MONITOR_EDITS
        if len(indexed) > MAX_INDEXED:
            indexed = [indexed[int(i)] for i in sorted(rng.choice(len(indexed), MAX_INDEXED, replace=False))]

        def load(f: Path) -> Image.Image:
            img = read_image(f, min_side=side)
            img.thumbnail((side, side), Image.Resampling.BILINEAR)
            return img

        self.originals = [load(f) for f in indexed]
        held = [load(f) for f in unindexed]
        self.copies = [COPY_EDITS[self.edits[i % len(self.edits)]](img, rng, None).convert("RGB")
                       for i, img in enumerate(self.originals + held)]
        self.distractors = len(held)

    def __len__(self) -> int:
        return len(self.originals)

    def measure(self, encoder: Encoder) -> CopyDetectionMetrics:
        index = encoder.embed(self.originals, batch_size=64)
        queries = encoder.embed(self.copies, batch_size=64)
        sims = queries @ index.T
        top = sims.argmax(1)
        preds = [PredictedMatch(str(i), float(sims[i, j]), bool(j == i)) for i, j in enumerate(top)]
        return copy_detection_metrics(preds, n_positives=len(self.originals), n_queries=len(preds))
