"""Shared fixtures: tiny real and generated pictures, and the default encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfsim.data.synthetic import synthetic_picture

FIXTURES = Path(__file__).parent / "fixtures"

#: Distinct generated pictures (tests import it from here by this name).
make_picture = synthetic_picture


def picture_folder(folder: Path, n: int, size: tuple[int, int] = (40, 40)) -> Path:
    """``folder`` with ``n`` distinct small generated pictures, 0.png ... (for training tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        make_picture(i, size).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="session")
def encoder():
    from selfsim.models import default_encoder

    return default_encoder(device="cpu")


@pytest.fixture()
def photo_dir(tmp_path: Path) -> Path:
    """A folder of 8 distinct pictures: two real photos and six generated ones."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("baboon.jpg", "orange.jpg"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    for i in range(6):
        make_picture(i).save(folder / f"gen{i}.png")
    return folder


@pytest.fixture(params=["folder", "milvus-lite"])
def index_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new index goes, once per backend: a folder, and a Milvus Lite file (the
    same tests hold for both)."""
    if request.param == "folder":
        return str(tmp_path / "pics.idx")
    pytest.importorskip("milvus_lite")
    return f"milvus-lite://{tmp_path / 'pics.db'}"
