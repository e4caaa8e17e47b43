"""Reading stored vectors: through the catalog in batches, or a few chosen ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from selfsim.errors import IndexDamagedError, IndexStateError
from selfsim.index.catalog import Catalog, NewImage

DIM = 16


@pytest.fixture()
def catalog(tmp_path: Path) -> Catalog:
    """50 rows with ids 1..50, then every fifth deleted: ids with gaps."""
    cat = Catalog(tmp_path / "catalog.sqlite")
    x = np.arange(50 * DIM, dtype=np.float32).reshape(50, DIM)
    ids = cat.insert([NewImage(f"/p/{i}.jpg", f"{i:064x}", 1, 0, 8, 8, v, 0) for i, v in enumerate(x)], "m")[0]
    cat.delete(ids[::5].tolist())
    return cat


def test_batches_and_chosen_ids_read_what_was_stored(catalog: Catalog) -> None:
    ids, xb = catalog.vectors(DIM)
    assert len(ids) == 40 and np.all(np.diff(ids) > 0)
    assert np.array_equal(xb[:, 0], (ids - 1) * DIM)  # row i was written as i*DIM, i*DIM+1, ...
    batches = list(catalog.iter_vectors(DIM, batch=7))
    assert [len(b) for b, _ in batches] == [7] * 5 + [5]
    assert np.array_equal(np.concatenate([b for b, _ in batches]), ids)
    assert np.array_equal(np.concatenate([x for _, x in batches]), xb)
    wanted = np.array([ids[9], ids[2], ids[9], ids[39]])  # any order, repeats
    assert np.array_equal(catalog.vectors_of(wanted, DIM), xb[[9, 2, 9, 39]])
    assert catalog.vectors_of(np.empty(0, np.int64), DIM).shape == (0, DIM)


def test_missing_ids_and_damaged_vectors_are_named(catalog: Catalog) -> None:
    with pytest.raises(IndexStateError, match="no image with id 6"):
        catalog.vectors_of(np.array([2, 6]), DIM)
    catalog.execute("UPDATE images SET vector = substr(vector, 1, 12) WHERE id = 23")
    with pytest.raises(IndexDamagedError, match="image 23 is not 16 numbers long.*--repair"):
        catalog.vectors(DIM)
    with pytest.raises(IndexDamagedError, match="image 23"):
        list(catalog.iter_vectors(DIM, batch=4))
    with pytest.raises(IndexDamagedError, match="image 23"):
        catalog.vectors_of(np.array([22, 23]), DIM)
    assert catalog.vectors_of(np.array([22, 24]), DIM).shape == (2, DIM)
