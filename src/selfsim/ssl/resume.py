"""What a training run was started with, kept in its checkpoints, so that ``--resume``
continues the same run or refuses in one line.

Resuming with another method or backbone would otherwise fail deep in PyTorch with a
page of missing keys, and another batch size, learning rate or folder would silently
continue a different run. More ``--epochs`` is allowed: it trains longer, the
learning-rate schedule stretched to the new end.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from selfsim.errors import SelfsimError
from selfsim.models.factory import WEIGHTS_FILE

#: The checkpoint entry that holds the run's record.
KEY = "selfsim_run"
#: Settings that may change between a run and its resumption: they touch neither the
#: model nor the data (``whiten`` is applied after training; more epochs train longer).
MAY_CHANGE = frozenset({"workers", "checkpoint_every", "whiten", "epochs", "min_steps"})
#: Command-line names where they are not ``--`` + the field name with dashes.
_OPTION = {"copy_edits": "--edits", "pictures": "training pictures"}


def run_record(config: Any, pictures: int) -> dict[str, Any]:
    """The settings and number of training pictures a resumed run must share.

    ``config`` is a ``TrainConfig`` (a dataclass); values are kept JSON-like so that
    the checkpoint loads with ``torch.load(weights_only=True)``.
    """
    record = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items() if k not in MAY_CHANGE}
    return {**record, "pictures": pictures}


class RecordRun(pl.Callback):
    """Writes the run's record into every checkpoint under :data:`KEY`."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint[KEY] = dict(self.record)


def check_resumable(checkpoint: Path, record: dict[str, Any]) -> None:
    """Refuse to resume ``checkpoint`` with settings other than those it was made with.

    Checkpoints written before runs were recorded are accepted as they are.

    Raises:
        SelfsimError: the checkpoint cannot be read, or what differs, in one line.
    """
    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True).get(KEY)
    except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is the same problem to the user
        raise SelfsimError(f"cannot resume from {checkpoint}: {type(e).__name__}: {str(e).splitlines()[0]}") from e
    if saved is None:
        return
    differ = [k for k in sorted(set(saved) | set(record)) if saved.get(k) != record.get(k)]
    if differ:
        then = ", ".join(f"{_option(k)} {_show(saved.get(k))}" for k in differ)
        now = ", ".join(f"{_option(k)} {_show(record.get(k))}" for k in differ)
        raise SelfsimError(f"cannot resume: the checkpoint was made with {then}; now {now} "
                           f"(resume with the same settings and folder, or train into a new --out)")


def check_out(out: Path, checkpoint: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to start over a run, or to resume one that is not there.

    ``out`` holds a run when it has ``checkpoint`` or a model file: starting a new
    run there would replace its checkpoints from the first step on.

    Raises:
        SelfsimError: in one line, saying which option to add.
    """
    if out.exists() and not out.is_dir():
        raise SelfsimError(f"--out {out} is a file; training writes a model folder")
    if resume and overwrite:
        raise SelfsimError("--resume continues a run and --overwrite starts over: choose one")
    if resume and not checkpoint.is_file():
        raise SelfsimError(f"nothing to resume: {checkpoint} does not exist")
    held = [p for p in (checkpoint, out / WEIGHTS_FILE) if p.is_file()]
    if not resume and not overwrite and held:
        raise SelfsimError(f"{out} already holds a training run ({held[0]}): add --resume to continue it, "
                           f"--overwrite to start over, or choose another --out")


def _option(field: str) -> str:
    return _OPTION.get(field, "--" + field.replace("_", "-"))


def _show(value: Any) -> str:
    if value is None:
        return "(default)"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)
