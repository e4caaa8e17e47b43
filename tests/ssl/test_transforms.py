"""Training views: copy pairs for SSCD, generic views for the others."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from selfsim.ssl.data import ImageFiles
from selfsim.ssl.transforms import COPY_EDITS, CopyPair, TwoViews, _pixelate, view_transform

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import FIXTURES, picture_folder  # noqa: E402

MEAN, STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


def photo() -> Image.Image:
    return Image.open(FIXTURES / "baboon.jpg").convert("RGB")


def test_copy_pair_gives_an_anchor_and_an_edited_copy_at_the_encoder_size() -> None:
    pair = CopyPair(64, MEAN, STD)
    torch.manual_seed(0)
    a, c = pair(photo())
    assert a.shape == c.shape == (3, 64, 64) and torch.isfinite(a).all() and torch.isfinite(c).all()
    torch.manual_seed(0)
    a2, c2 = pair(photo())
    assert torch.equal(a, a2) and torch.equal(c, c2)  # torch's seed decides every draw (workers are seeded)
    a3, c3 = pair(photo())
    assert not torch.equal(c, c3)


def test_copy_edits_are_drawn_from_the_whole_edit_table() -> None:
    pair = CopyPair(64, MEAN, STD, max_edits=2)
    rng = np.random.default_rng(0)
    small = photo().resize((128, 128))
    seen: set[str] = set()
    for _ in range(60):
        _, names = pair.edit(small, rng, lambda: small)
        assert 1 <= len(names) <= 2 and len(set(names)) == len(names)
        seen.update(names)
    assert seen == set(COPY_EDITS)


def test_pasting_puts_the_picture_onto_another_picture_of_the_folder() -> None:
    pair = CopyPair(64, MEAN, STD, max_edits=1, work_side=400)
    pair.names = ["paste"]
    background = Image.new("RGB", (300, 200), (0, 255, 0))
    calls = []

    def other() -> Image.Image:
        calls.append(1)
        return background

    out, names = pair.edit(photo(), np.random.default_rng(0), other)
    arr = np.asarray(out)
    assert names == ["paste"] and calls == [1]
    assert out.size == (300, 200)  # the background's size: the picture is inside it
    green = (arr == (0, 255, 0)).all(-1).mean()
    assert 0.3 < green < 0.95


def test_pixelation_is_relative_to_the_picture_size() -> None:
    rng = np.random.default_rng(0)
    for side in (200, 1000):
        img = photo().resize((side, side))
        out = np.asarray(_pixelate(img, rng))
        row = out[side // 2]
        runs = 1 + int((np.abs(np.diff(row.astype(int), axis=0)).sum(1) > 0).sum())
        assert 35 <= runs <= 110  # 1-2.4 % blocks: about 42-100 across, at any size


def test_work_side_shrinks_big_pictures_before_editing() -> None:
    pair = CopyPair(32, MEAN, STD)
    assert pair._shrink(Image.new("RGB", (1000, 500))).size == (64, 32)
    assert pair._shrink(Image.new("RGB", (40, 20))).size == (40, 20)


def test_dataset_gives_copy_pairs_another_picture_to_paste_onto(tmp_path: Path) -> None:
    folder = picture_folder(tmp_path / "imgs", 3, (48, 48))
    files = sorted(folder.iterdir())
    seen: list[int] = []

    class Probe:
        wants_other = True

        def __call__(self, img: Image.Image, other):  # type: ignore[no-untyped-def]
            for _ in range(20):
                o = other()
                seen.append(int(np.asarray(o).sum() == np.asarray(img).sum()))
            return img

    ds = ImageFiles(files, Probe())
    for i in range(3):
        ds[i]
    assert seen and not any(seen)  # never the picture itself
    assert ImageFiles(files, TwoViews(view_transform(32, MEAN, STD)))[0][0].shape == (3, 32, 32)


def test_copy_edits_can_be_chosen_and_unknown_ones_are_refused() -> None:
    import pytest

    from selfsim.errors import SelfsimError

    pair = CopyPair(64, MEAN, STD, edits=["jpeg", "text"])
    rng = np.random.default_rng(0)
    seen = {n for _ in range(20) for n in pair.edit(photo().resize((96, 96)), rng)[1]}
    assert seen == {"jpeg", "text"}
    with pytest.raises(SelfsimError, match="unknown copy edit.*mirror; choose from: blur, border"):
        CopyPair(64, MEAN, STD, edits=["jpeg", "mirror"])
