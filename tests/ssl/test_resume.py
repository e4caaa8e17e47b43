"""--resume continues the run it was given, or refuses in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from selfsim.data.cleaning import clean
from selfsim.errors import SelfsimError
from selfsim.ssl.resume import KEY, check_resumable, run_record
from selfsim.ssl.train import TrainConfig, train

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import picture_folder  # noqa: E402


def _checkpoint(path: Path, record: dict | None) -> Path:
    state = {"global_step": 3, "state_dict": {"w": torch.zeros(2)}}
    if record is not None:
        state[KEY] = record
    torch.save(state, path)
    return path


def test_the_record_leaves_out_what_may_change_and_keeps_the_folder_size() -> None:
    record = run_record(TrainConfig(method="sscd", copy_edits=("crop", "jpeg"), workers=4, epochs=7), 120)
    assert record["method"] == "sscd" and record["copy_edits"] == ["crop", "jpeg"] and record["pictures"] == 120
    assert not {"workers", "checkpoint_every", "whiten", "epochs", "min_steps"} & set(record)


def test_same_settings_resume_and_more_epochs_or_workers_too(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "last.ckpt", run_record(TrainConfig(), 50))
    check_resumable(ckpt, run_record(TrainConfig(), 50))
    check_resumable(ckpt, run_record(TrainConfig(epochs=30, workers=0, checkpoint_every=7, whiten=True), 50))


def test_other_settings_or_another_folder_are_refused_in_one_line(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "last.ckpt", run_record(TrainConfig(method="simclr", batch_size=64), 50))
    with pytest.raises(SelfsimError) as e:
        check_resumable(ckpt, run_record(TrainConfig(method="byol", batch_size=64), 51))
    assert str(e.value) == ("cannot resume: the checkpoint was made with --method simclr, training pictures 50; "
                            "now --method byol, training pictures 51 (resume with the same settings and folder, "
                            "or train into a new --out)")


def test_checkpoints_without_a_record_are_accepted_and_unreadable_ones_refused(tmp_path: Path) -> None:
    check_resumable(_checkpoint(tmp_path / "old.ckpt", None), run_record(TrainConfig(), 10))
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(SelfsimError, match=f"cannot resume from {bad}: "):
        check_resumable(bad, run_record(TrainConfig(), 10))


def test_training_records_the_run_and_refuses_another_method_before_training(tmp_path: Path) -> None:
    data = clean([picture_folder(tmp_path / "imgs", 16)])
    out = tmp_path / "model"
    cfg = TrainConfig(method="simclr", epochs=1, batch_size=8, workers=0, checkpoint_every=1)
    train(cfg, data, out, progress=False)
    last = out / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=True)
    assert saved[KEY] == run_record(cfg, 16)
    messages: list[str] = []
    with pytest.raises(SelfsimError, match="--method simclr.*now --method byol"):
        train(TrainConfig(method="byol", epochs=1, batch_size=8, workers=0), data, out, resume=True,
              progress=False, on_message=messages.append)
    assert messages == []  # refused before the plan is announced
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == saved["global_step"]


def test_a_folder_holding_a_run_is_not_started_over_without_overwrite(tmp_path: Path) -> None:
    from selfsim.ssl.resume import check_out

    out = tmp_path / "model"
    last = out / "checkpoints" / "last.ckpt"
    check_out(out, last, resume=False, overwrite=False)  # a new folder
    with pytest.raises(SelfsimError, match="nothing to resume"):
        check_out(out, last, resume=True, overwrite=False)
    _checkpoint(last.parent.mkdir(parents=True) or last, None)
    with pytest.raises(SelfsimError, match=f"{out} already holds a training run .*add --resume to continue it, --overwrite"):
        check_out(out, last, resume=False, overwrite=False)
    check_out(out, last, resume=False, overwrite=True)
    check_out(out, last, resume=True, overwrite=False)
    with pytest.raises(SelfsimError, match="choose one"):
        check_out(out, last, resume=True, overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SelfsimError, match="is a file; training writes a model folder"):
        check_out(tmp_path / "file", tmp_path / "file" / "checkpoints" / "last.ckpt", resume=False, overwrite=False)
