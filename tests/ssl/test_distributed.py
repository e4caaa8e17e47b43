"""DDP: `selfsim train --devices 2` runs two CPU processes (gloo), gathers negatives
across them, checkpoints, and resumes, as one process does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from selfsim.ssl.distributed import process_rank, trainer_options

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import picture_folder  # noqa: E402


@pytest.mark.slow
def test_two_processes_train_checkpoint_and_resume(tmp_path: Path) -> None:
    folder = picture_folder(tmp_path / "pics", 24, (48, 48))
    out = tmp_path / "model"
    argv = [sys.executable, "-m", "selfsim.cli.main", "train", str(folder), "--out", str(out), "--devices", "2",
            "--batch-size", "4", "--workers", "0", "--checkpoint-every", "2"]
    first = subprocess.run([*argv, "--epochs", "2"], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    # Each of 2 processes takes batches of 4 from its half: 24 / 8 = 3 steps an epoch.
    assert "batches of 4 on each of 2 processes" in first.stderr and first.stderr.count("wrote ") == 1
    assert "wrote" in first.stderr and "6 steps" in first.stderr
    assert (out / "model.safetensors").is_file() and (out / "checkpoints" / "last.ckpt").is_file()
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6
    again = subprocess.run([*argv, "--epochs", "3", "--resume"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "9 steps (3 in this run" in again.stderr, again.stderr
    assert json.loads((out / "config.json").read_text())["info"]["steps"] == 9
    other = subprocess.run([*argv[:7], "--devices", "1", *argv[9:], "--epochs", "4", "--resume"],
                           capture_output=True, text=True, timeout=600)
    assert other.returncode == 1 and "--devices 2; now --devices 1" in other.stderr


def test_ranks_and_trainer_options(monkeypatch) -> None:
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert process_rank() == 0
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert process_rank() == 1
    monkeypatch.setenv("RANK", "5")  # torchrun
    assert process_rank() == 5
    assert trainer_options(1, 1, True) == {"devices": 1}
    assert trainer_options(2, 3, False) == {"devices": 2, "num_nodes": 3, "strategy": "ddp", "sync_batchnorm": False,
                                            "use_distributed_sampler": True}
