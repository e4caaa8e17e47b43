from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from selfsim.data.files import find_images, sniff_format
from selfsim.errors import SelfsimError


def test_find_images_recursive_by_content(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "sub" / "noext", format="JPEG")
    Image.new("RGB", (4, 4)).save(tmp_path / ".hidden" / "h.png")
    (tmp_path / "notes.txt").write_text("x")
    images, skipped = find_images([tmp_path])
    assert sorted(p.name for p in images) == ["a.png", "noext"]
    assert [(p.name, why) for p, why in skipped] == [("notes.txt", "not an image file")]
    assert sniff_format(tmp_path / "sub" / "noext") == "JPEG"


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SelfsimError, match="path not found"):
        find_images([tmp_path / "missing"])
