"""A label-free quality monitor: can the encoder find edited copies of pictures it never trained on?

Before training and after each epoch, the held-out pictures are embedded as an
index and edited copies of them (crops, rotations, JPEG, text, ... from
``eval/edits.py``) as queries; each query's nearest neighbour by cosine is its
prediction. Micro-AP and recall@1 need no labels: the right answer of a copy is
the picture it was made from. A number that falls while the loss falls means the
model is learning the wrong thing, whatever the loss says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl

from selfsim.data.reader import read_image
from selfsim.eval.edits import EDITS, make_copy
from selfsim.eval.metrics import CopyDetectionMetrics, PredictedMatch, copy_detection_metrics
from selfsim.models.encoder import Encoder

#: Edits for the monitor's queries: each query gets one, in turn, then a chain of 2-3.
MONITOR_EDITS = (*sorted(set(EDITS) - {"paste"}), "chain")


@dataclass(frozen=True)
class Quality:
    """Copy retrieval on held-out pictures, after ``epoch`` epochs (0: before training)."""

    epoch: int
    micro_ap: float
    recall_at_1: float
    pictures: int

    def __str__(self) -> str:
        when = "before training" if self.epoch == 0 else f"after epoch {self.epoch}"
        return (f"copy retrieval on {self.pictures} held-out pictures {when}: "
                f"micro-AP {self.micro_ap:.3f}, recall@1 {self.recall_at_1:.3f}")


class CopyRetrievalProbe:
    """Held-out pictures and one edited copy of each, made once with a fixed seed."""

    def __init__(self, files: Sequence[Path], seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.originals = [read_image(f) for f in files]
        self.copies = [make_copy(img, MONITOR_EDITS[i % len(MONITOR_EDITS)], rng)[0].convert("RGB")
                       for i, img in enumerate(self.originals)]

    def __len__(self) -> int:
        return len(self.originals)

    def measure(self, encoder: Encoder) -> CopyDetectionMetrics:
        index = encoder.embed(self.originals, batch_size=64)
        queries = encoder.embed(self.copies, batch_size=64)
        sims = queries @ index.T
        top = sims.argmax(1)
        preds = [PredictedMatch(str(i), float(sims[i, j]), bool(j == i)) for i, j in enumerate(top)]
        return copy_detection_metrics(preds, n_positives=len(preds))


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
        q = Quality(epoch, m.micro_ap, m.recall_at_1, len(self.probe))
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
