"""The label-free quality monitor: held-out pictures, edited copies, real numbers."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from selfsim.data.files import find_images
from selfsim.eval.probe import CopyRetrievalProbe
from selfsim.ssl.monitor import Quality, split_holdout


def test_default_encoder_finds_edited_copies_and_ignores_unindexed_ones(photo_dir: Path, encoder) -> None:
    files = find_images([photo_dir])[0]
    probe = CopyRetrievalProbe(files[:6], files[6:], seed=0, side=256)
    assert len(probe) == 6 and probe.distractors == 2 and len(probe.copies) == 8
    assert all(c.mode == "RGB" for c in probe.copies) and all(max(o.size) <= 256 for o in probe.originals)
    m = probe.measure(encoder)
    # 6 indexed pictures, a copy of each and copies of 2 that are not indexed: a sound
    # encoder finds most of the 6
    assert m.recall_at_1 >= 0.6 and m.micro_ap >= 0.5
    assert m.n_positives == 6 and m.n_queries == 8


def test_the_probe_indexes_a_fixed_sample_of_big_folders(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from conftest import picture_folder

    from selfsim.eval import probe as monitor

    files = sorted(picture_folder(tmp_path / "imgs", 12, (32, 32)).iterdir())
    old, monitor.MAX_INDEXED = monitor.MAX_INDEXED, 5
    try:
        a, b = CopyRetrievalProbe(files, seed=3), CopyRetrievalProbe(files, seed=3)
    finally:
        monitor.MAX_INDEXED = old
    assert len(a) == 5 and [im.tobytes() for im in a.originals] == [im.tobytes() for im in b.originals]


def test_holdout_split_is_disjoint_seeded_and_sized(tmp_path: Path) -> None:
    files = [tmp_path / f"{i}.png" for i in range(300)]
    train, held = split_holdout(files, None, seed=1)
    assert len(held) == 30 and len(train) == 270 and not set(train) & set(held)
    assert split_holdout(files, None, seed=1) == (train, held)
    assert split_holdout(files[:40], None, seed=1)[1] == []  # small folders: every picture trains
    assert len(split_holdout(files[:10], 50, seed=0)[1]) == 8  # always two left to train on
    assert split_holdout(files, 0, seed=0)[1] == []


def test_quality_reads_as_a_sentence() -> None:
    assert str(Quality(0, 0.5, 0.75, 20)) == "finding copies of 20 pictures before training: micro-AP 0.500, recall@1 0.750"
    assert "20 pictures and 4 held-out ones after epoch 3" in str(Quality(3, 0.5, 0.75, 20, 4))


@pytest.mark.slow
def test_training_reports_quality_before_and_after_each_epoch(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from conftest import picture_folder

    from selfsim.data.cleaning import clean
    from selfsim.models import load_encoder
    from selfsim.ssl.train import TrainConfig, train

    folder = picture_folder(tmp_path / "imgs", 20, (48, 48))
    seen: list[Quality] = []
    cfg = TrainConfig(method="simclr", epochs=2, batch_size=8, input_size=32, workers=0, holdout=4)
    result = train(cfg, clean([folder]), tmp_path / "m", progress=False, on_quality=seen.append,
                   probe=partial(CopyRetrievalProbe, seed=cfg.seed, side=64))
    assert [q.epoch for q in seen] == [0, 1, 2] and all(q.pictures == 16 and q.distractors == 4 for q in seen)
    assert result.images == 16 and result.steps == 4  # 16 training pictures, batches of 8
    info = load_encoder(str(tmp_path / "m"), device="cpu").config.info
    assert info["data"]["held_out"] == 4 and [q["epoch"] for q in info["quality"]] == [0, 1, 2]


def test_the_probe_makes_copies_with_the_users_edits(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from conftest import picture_folder

    from selfsim.eval.probe import MONITOR_EDITS

    files = sorted(picture_folder(tmp_path / "imgs", 4, (48, 48)).iterdir())
    assert CopyRetrievalProbe(files, edits=["jpeg", "paste", "crop"]).edits == ("crop", "jpeg")
    assert CopyRetrievalProbe(files, edits=["paste"]).edits == MONITOR_EDITS
    assert CopyRetrievalProbe(files).edits == MONITOR_EDITS and "paste" not in MONITOR_EDITS
    flipped = CopyRetrievalProbe(files, edits=["flip"])
    assert all(c.tobytes() == o.transpose(0).tobytes() for c, o in zip(flipped.copies, flipped.originals))
