"""A label-free quality monitor for training: after epochs, a probe says how well the
encoder finds edited copies of the folder's pictures.

The probe itself is evaluation (``selfsim.eval.probe.CopyRetrievalProbe``); training
receives a way to make one (``train(probe=...)``), so that ``ssl/`` never imports
``eval/``. This module holds what training needs: the :class:`Probe` it calls, the
Lightning callback, its results and the held-out split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pytorch_lightning as pl

from selfsim.models.encoder import Encoder


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


class Retrieval(Protocol):
    @property
    def micro_ap(self) -> float: ...

    @property
    def recall_at_1(self) -> float: ...


class Probe(Protocol):
    """What the monitor runs: ``len()`` indexed pictures, copies of ``distractors``
    pictures that are not indexed, and a measurement of an encoder."""

    @property
    def distractors(self) -> int: ...

    def __len__(self) -> int: ...

    def measure(self, encoder: Encoder) -> Retrieval: ...


#: Makes a probe from (training files, held-out files).
ProbeFactory = Callable[[Sequence[Path], Sequence[Path]], Probe]


class QualityMonitor(pl.Callback):
    """Runs a :class:`Probe` before training and after epochs.

    Args:
        probe: the held-out pictures and their copies.
        report: called with each result (the CLI prints it).
        every: measure after every ``every`` epochs (and the last), so that long
            runs over tiny folders print about ten lines, not hundreds.
    """

    def __init__(self, probe: Probe, report: Callable[[Quality], None], every: int = 1) -> None:
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
        if not trainer.is_global_zero:  # DDP: the main process measures and reports
            return
        if trainer.current_epoch == 0 and trainer.global_step == 0:
            self._measure(trainer, pl_module, 0)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
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
