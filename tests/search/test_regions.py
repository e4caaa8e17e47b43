from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from selfsim.search.regions import RegionSearch


def test_regions_tile_the_query_from_corner_to_corner() -> None:
    image = Image.new("RGB", (200, 100))
    views = RegionSearch(grid=4, share=0.4).views(image)
    assert len(views) == 16 and all(v.size == (80, 40) for v in views)
    # The first region is the top-left corner, the last the bottom-right one.
    boxes = [(x, y) for y in (0, 20, 40, 60) for x in (0, 40, 80, 120)]
    pixels = np.arange(200 * 100 * 3, dtype=np.uint32).reshape(100, 200, 3) % 251
    image = Image.fromarray(pixels.astype(np.uint8))
    for (x, y), view in zip(boxes, RegionSearch(grid=4, share=0.4).views(image)):
        assert np.array_equal(np.asarray(view), np.asarray(image)[y : y + 40, x : x + 80])


def test_candidates_are_the_best_pictures_over_all_regions_not_already_shortlisted() -> None:
    sims = np.array([[0.9, 0.5, 0.4], [0.8, 0.7, 0.1]], dtype=np.float32)
    ids = np.array([[1, 2, 3], [4, 2, -1]])
    found = RegionSearch(hits=2).candidates(sims, ids, exclude={1})
    assert [i for i, _ in found] == [4, 2] and [s for _, s in found] == pytest.approx([0.8, 0.7])
    found = RegionSearch(hits=5).candidates(sims, ids, exclude=set())
    assert [i for i, _ in found] == [1, 4, 2, 3] and [s for _, s in found] == pytest.approx([0.9, 0.8, 0.7, 0.4])


@pytest.mark.parametrize("bad", [dict(grid=0), dict(share=1.0), dict(share=0.0), dict(hits=-1)])
def test_a_bad_region_search_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RegionSearch(**bad)  # type: ignore[arg-type]
