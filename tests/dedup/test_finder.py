"""Pairs that local features cannot confirm: smooth pictures, their crops, other smooth pictures."""

from __future__ import annotations

from pathlib import Path

from selfsim.data.synthetic import smooth_picture
from selfsim.dedup.finder import CROP_SEARCH_SIMILARITY, check_pair, find_duplicates
from selfsim.index import Index, sync
from selfsim.models.encoder import Encoder
from selfsim.search import Verifier, model_ref


def test_a_crop_of_a_smooth_picture_is_a_copy_and_another_smooth_picture_is_not(
    tmp_path: Path, encoder: Encoder
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    original = smooth_picture(0)  # 800 x 520, too few keypoints to match
    original.save(folder / "sky.png")
    original.crop((100, 60, 770, 495)).save(folder / "sky-crop.jpg", quality=85)  # 70 % of the area
    smooth_picture(1).save(folder / "other.png")
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [folder])
    with Index.open(tmp_path / "idx") as index:
        rec = {Path(r.path).name: r for r in index.records()}
        verifier = Verifier(index)
        crop = check_pair(verifier, rec["sky.png"], rec["sky-crop.jpg"], 0.9)
        assert crop.kind == "near" and "crop search" in crop.reason, crop.reason
        assert check_pair(verifier, rec["sky.png"], rec["other.png"], 0.9).kind is None
        assert check_pair(verifier, rec["sky-crop.jpg"], rec["other.png"], 0.9).kind is None
        below = check_pair(verifier, rec["sky.png"], rec["sky-crop.jpg"], CROP_SEARCH_SIMILARITY - 0.01)
        assert below.kind is None and "for a crop search" in below.reason
        groups = find_duplicates(index)
    assert [sorted(Path(m).name for m in g.members) for g in groups] == [["sky-crop.jpg", "sky.png"]]
