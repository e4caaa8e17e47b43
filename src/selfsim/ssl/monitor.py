"""A label-free quality monitor: does the encoder find edited copies of the folder's pictures?

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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
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


@dataclass(frozen=True)
class Quality:
    """Copy retrieval after ``epoch`` epochs (0: before training) over ``pictures``
    indexed pictures and copies of ``distractors`` pictures that are not indexed."""

    epoch: int
    micro_ap: float
    recall_at_1: float
    pictures: int
    distractors: int = 0

    def __str__(self) -> str:
        when = "before training" if self.epoch == 0 else f"after epoch {self.epoch}"
        unseen = f" and {self.distractors} held-out ones" if self.distractors else ""
        return (f"finding copies of {self.pictures} pictures{unseen} {when}: "
                f"micro-AP {self.micro_ap:.3f}, recall@1 {self.recall_at_1:.3f}")


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


class QualityMonitor(pl.Callback):
    """Runs a :class:`CopyRetrievalProbe` before training and after epochs.

    Args:
        probe: the held-out pictures and their copies.
        report: called with each result (the CLI prints it).
        every: measure after every ``every`` epochs (and the last), so that long
            runs over tiny folders print about ten lines, not hundreds.
    """

    def __init__(self, probe: CopyRetrievalProbe, report: Callable[[Quality], None], every: int = 1) -> None:
        self.probe = probe
        self.report = report
        self.every = every
        self.history: list[Quality] = []

    def _measure(self, trainer: pl.Trainer, pl_module: pl.LightningModule, epoch: int) -> None:
        encoder: Encoder = pl_module.encoder  # type: ignore[assignment]
        was_training = pl_module.training
        m = self.probe.measure(encoder)
        pl_module.train(was_training)  # embedding switched it to eval mode
        q = Quality(epoch, m.micro_ap, m.recall_at_1, len(self.probe), self.probe.distractors)
        self.history.append(q)
        self.report(q)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == 0 and trainer.global_step == 0:
            self._measure(trainer, pl_module, 0)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        done = trainer.current_epoch + 1
        if done % self.every == 0 or done == trainer.max_epochs:
            self._measure(trainer, pl_module, done)

    def as_info(self) -> list[dict[str, float]]:
        return [asdict(q) for q in self.history]

    # Kept in checkpoints, so that a resumed run reports the whole history.
    def state_dict(self) -> dict[str, list[dict[str, float]]]:
        return {"history": self.as_info()}

    def load_state_dict(self, state_dict: dict[str, list[dict[str, float]]]) -> None:
        self.history = [Quality(**q) for q in state_dict.get("history", [])]  # type: ignore[arg-type]


def split_holdout(files: Sequence[Path], n: int | None, seed: int) -> tuple[list[Path], list[Path]]:
    """(training files, held-out files). ``n=None``: a tenth of the folder, at most 200,
    none for folders under 50 pictures (every picture is needed for training there)."""
    if n is None:
        n = 0 if len(files) < 50 else min(200, len(files) // 10)
    n = max(0, min(n, len(files) - 2))
    order = np.random.default_rng(seed).permutation(len(files))
    held = sorted(int(i) for i in order[:n])
    held_set = set(held)
    return [f for i, f in enumerate(files) if i not in held_set], [files[i] for i in held]
