"""Training checkpoints are written atomically: a failed write keeps the last good one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from selfsim.ssl import checkpoint_io
from selfsim.ssl.checkpoint_io import AtomicCheckpointIO


def test_a_write_that_dies_halfway_leaves_the_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "ckpt" / "last.ckpt"
    io.save_checkpoint({"global_step": 5, "w": torch.ones(3)}, path)
    assert io.load_checkpoint(path)["global_step"] == 5

    def dies_halfway(obj, f) -> None:  # type: ignore[no-untyped-def]
        Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint_io.torch, "save", dies_halfway)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"global_step": 6, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    back = io.load_checkpoint(path)
    assert back["global_step"] == 5 and torch.equal(back["w"], torch.ones(3))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left behind


def test_training_writes_its_checkpoints_through_it(tmp_path: Path, monkeypatch) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from conftest import picture_folder

    from selfsim.data.cleaning import clean
    from selfsim.ssl.train import TrainConfig, train

    saved: list[str] = []
    original = AtomicCheckpointIO.save_checkpoint

    def spy(self, checkpoint, path, storage_options=None):  # type: ignore[no-untyped-def]
        saved.append(Path(path).name)
        return original(self, checkpoint, path, storage_options)

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", spy)
    folder = picture_folder(tmp_path / "imgs", 16)
    cfg = TrainConfig(method="simclr", epochs=1, batch_size=8, input_size=32, workers=0, checkpoint_every=1)
    train(cfg, clean([folder]), tmp_path / "m", progress=False)
    assert "last.ckpt" in saved
