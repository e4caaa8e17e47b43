"""`selfsim train` and `selfsim export` as users run them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from selfsim.cli.main import main

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture, picture_folder  # noqa: E402


@pytest.fixture()
def tiny_folder(tmp_path: Path) -> Path:
    folder = picture_folder(tmp_path / "imgs", 20)
    (folder / "notes.txt").write_text("not a picture")
    make_picture(0, (40, 40)).save(folder / "dup.png")  # same bytes as 0.png
    return folder


@pytest.mark.slow
def test_train_then_index_then_export(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "model"
    argv = ["train", str(tiny_folder), "--out", str(model), "--method", "dino", "--epochs", "1",
            "--batch-size", "8", "--workers", "0", "--holdout", "4", "-q"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "skipped 2 file(s): 1 not an image file, 1 exact duplicate\n" in err
    assert "on 16 pictures (4 held out as the quality monitor's distractors): 1 epoch of 2 steps" in err
    assert "finding copies of 16 pictures and 4 held-out ones before training: micro-AP" in err
    assert "after epoch 1" in err
    assert f"wrote {model}" in err
    assert f"next: selfsim index FOLDER --index INDEX --model {model};" in err

    assert main(["index", str(tiny_folder), "--index", str(tmp_path / "idx"), "--model", str(model), "-q"]) == 0
    assert main(["export", str(model), "--onnx"]) == 0
    assert (model / "model.onnx").is_file() and (model / "model.json").is_file()


def test_resume_without_checkpoints_is_one_line(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", str(tiny_folder), "--out", str(tmp_path / "m"), "--resume", "-q", "--workers", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: nothing to resume")


def test_unknown_method_is_a_usage_error(tiny_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", str(tiny_folder), "--out", str(tmp_path / "m"), "--method", "mocov9"])
    assert e.value.code == 2


def test_unknown_copy_edit_is_one_line_before_the_folder_is_read(tmp_path: Path, capsys) -> None:
    argv = ["train", str(tmp_path / "missing"), "--out", str(tmp_path / "m"), "--method", "sscd", "--edits", "crop,mirror"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown copy edit(s) mirror; choose from: blur, border")


def test_edits_for_another_method_is_one_line(tmp_path: Path, capsys) -> None:
    argv = ["train", str(tmp_path / "missing"), "--out", str(tmp_path / "m"), "--method", "vicreg", "--edits", "crop"]
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == "error: --edits applies to --method sscd, not vicreg"


@pytest.mark.slow
def test_kill_9_then_resume_finishes_at_the_planned_step(tiny_folder: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import time

    from selfsim.models import load_encoder

    model = tmp_path / "model"
    argv = [sys.executable, "-m", "selfsim.cli.main", "train", str(tiny_folder), "--out", str(model),
            "--method", "simclr", "--epochs", "20", "--batch-size", "8", "--workers", "0", "--holdout", "0",
            "--checkpoint-every", "5", "-q"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE)
    last = model / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before the kill landed"
    assert not (model / "model.safetensors").exists()  # nothing half-written

    done = subprocess.run([*argv, "--resume"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    enc = load_encoder(str(model), device="cpu")
    assert enc.config.info["steps"] == 40  # 20 epochs x 2 steps, as planned
    assert "in this run" in done.stderr and "(40 in this run" not in done.stderr


def test_a_bad_number_is_one_line_before_the_folder_is_read(tmp_path: Path, capsys) -> None:
    argv = ["train", str(tmp_path / "missing"), "--out", str(tmp_path / "m"), "--lr", "-1"]
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == "error: --lr must be a positive number, got -1.0"
    assert not (tmp_path / "m").exists()


def test_training_again_into_a_run_needs_resume_or_overwrite(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "m"
    argv = ["train", str(tiny_folder), "--out", str(model), "--epochs", "1", "--batch-size", "8", "--workers", "0", "-q"]
    assert main(argv) == 0
    first = (model / "model.safetensors").read_bytes()
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {model} already holds a training run ({model / 'checkpoints' / 'last.ckpt'}): "
                   "add --resume to continue it, --overwrite to start over, or choose another --out"]
    assert (model / "model.safetensors").read_bytes() == first
    assert main([*argv, "--overwrite", "--seed", "1"]) == 0
    assert (model / "model.safetensors").read_bytes() != first
