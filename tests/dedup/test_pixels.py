"""Exact copies across formats: identical decoded pixels, whatever the bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from selfsim.data.synthetic import synthetic_picture
from selfsim.dedup import find_duplicates
from selfsim.dedup.graph import Edges
from selfsim.dedup.pixels import fold_same_pixels, same_pixels
from selfsim.index import Index, sync
from selfsim.index.catalog import ImageRecord
from selfsim.index.index import model_ref
from selfsim.models.encoder import Encoder


def copies(folder: Path) -> dict[str, Path]:
    """One picture four ways: PNG, lossless WebP, PNG saved again with other settings
    and a comment (all the same pixels), and a JPEG (not the same pixels)."""
    folder.mkdir(parents=True, exist_ok=True)
    img = synthetic_picture(3, (320, 240))
    out = {name: folder / name for name in ("a.png", "a.webp", "a-again.png", "a.jpg")}
    img.save(out["a.png"])
    img.save(out["a.webp"], lossless=True)
    note = PngImagePlugin.PngInfo()
    note.add_text("Comment", "saved again")
    img.save(out["a-again.png"], compress_level=1, pnginfo=note)
    img.save(out["a.jpg"], quality=95)
    return out


def test_same_pixels_across_formats_but_not_after_lossy_encoding(tmp_path: Path) -> None:
    f = copies(tmp_path)
    assert len({p.read_bytes() for p in f.values()}) == 4  # four different files...
    assert same_pixels(str(f["a.png"]), str(f["a.webp"]))  # ...three of them one picture
    assert same_pixels(str(f["a.png"]), str(f["a-again.png"]))
    assert not same_pixels(str(f["a.png"]), str(f["a.jpg"]))
    synthetic_picture(3, (320, 240)).resize((160, 120)).save(tmp_path / "small.png")
    assert not same_pixels(str(f["a.png"]), str(tmp_path / "small.png"))
    (tmp_path / "broken.png").write_bytes(f["a.png"].read_bytes()[:200])
    assert not same_pixels(str(f["a.png"]), str(tmp_path / "broken.png"))  # unreadable: no claim


def test_transparency_counts_but_colour_under_it_does_not(tmp_path: Path) -> None:
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., :3] = np.random.default_rng(0).integers(0, 256, (20, 30, 3))
    rgba[..., 3] = 255
    rgba[:5, :5, 3] = 0  # a transparent corner
    Image.fromarray(rgba).save(tmp_path / "a.png")
    hidden = rgba.copy()
    hidden[:5, :5, :3] = 7  # another colour where nothing shows
    Image.fromarray(hidden).save(tmp_path / "hidden.png")
    assert same_pixels(str(tmp_path / "a.png"), str(tmp_path / "hidden.png"))
    flat = rgba.copy()
    flat[:5, :5] = 255  # white and opaque: the same once composited onto white, but not the same file
    Image.fromarray(flat).save(tmp_path / "flat.png")
    assert not same_pixels(str(tmp_path / "a.png"), str(tmp_path / "flat.png"))
    Image.fromarray(rgba[..., :3]).save(tmp_path / "opaque.png")
    rgba[..., 3] = 255
    Image.fromarray(rgba).save(tmp_path / "opaque-rgba.png")  # an alpha channel with nothing transparent
    assert same_pixels(str(tmp_path / "opaque.png"), str(tmp_path / "opaque-rgba.png"))


def test_folding_merges_content_sets_and_keeps_their_pairs_with_others(tmp_path: Path) -> None:
    f = copies(tmp_path)
    other = tmp_path / "other.png"
    synthetic_picture(4, (320, 240)).save(other)

    def rec(i: int, path: Path) -> ImageRecord:
        return ImageRecord(i, str(path), f"sha{i}", path.stat().st_size, 0, 320, 240)

    records = {1: rec(1, f["a.png"]), 2: rec(2, f["a.webp"]), 3: rec(3, f["a.jpg"]), 4: rec(4, other),
               5: rec(5, f["a-again.png"])}
    records[6] = ImageRecord(6, str(f["a.png"]), "sha1", records[1].size, 1, 320, 240)  # same bytes as 1
    twins = {1: [records[1], records[6]], 2: [records[2]], 3: [records[3]], 4: [records[4]], 5: [records[5]]}
    edges = Edges(np.array([1, 1, 2, 3, 2]), np.array([2, 3, 3, 4, 5]),
                  np.array([0.999, 0.99, 0.995, 0.7, 0.97], np.float32))
    folded, merged = fold_same_pixels(edges, twins, records)
    assert sorted(sorted(r.id for r in rs) for rs in merged.values()) == [[1, 2, 6], [3], [4], [5]]  # 5: too far apart
    rep = next(k for k, rs in merged.items() if len(rs) == 3)
    assert rep == max([1, 2], key=lambda i: records[i].size)  # the best keeper: the largest file
    got = {(int(a), int(b)): round(float(s), 3) for a, b, s in zip(folded.a, folded.b, folded.similarity)}
    assert got == {(min(rep, 3), max(rep, 3)): 0.995, (3, 4): 0.7, (min(rep, 5), max(rep, 5)): 0.97}
    assert list(folded.similarity) == sorted(folded.similarity, reverse=True)


@pytest.mark.slow
def test_find_duplicates_calls_a_picture_in_three_formats_exact(tmp_path: Path, encoder: Encoder) -> None:
    f = copies(tmp_path / "photos")
    f["a.jpg"].unlink()
    for i in range(4):
        synthetic_picture(20 + i, (320, 240)).save(tmp_path / "photos" / f"other{i}.png")
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [tmp_path / "photos"])
        groups = find_duplicates(index)
    assert [(g.kind, sorted(Path(m).name for m in g.members), g.score) for g in groups] == [
        ("exact", ["a-again.png", "a.png", "a.webp"], 1.0)]

    synthetic_picture(3, (320, 240)).save(tmp_path / "photos" / "a.jpg", quality=95)  # a re-encoded copy
    with Index.open(tmp_path / "idx", writable=True) as index:
        sync(index, encoder, [tmp_path / "photos"])
        groups = find_duplicates(index)
    assert [(g.kind, sorted(Path(m).name for m in g.members)) for g in groups] == [
        ("near", ["a-again.png", "a.jpg", "a.png", "a.webp"])]  # an exact set joins its near copies
