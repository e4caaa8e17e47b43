"""The HTML report: a section per group, the keeper marked, thumbnails that decode,
paths that stay text, and placeholders instead of crashes."""

from __future__ import annotations

import base64
import io
import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.synthetic import synthetic_picture
from selfsim.dedup.groups import DuplicateGroup
from selfsim.dedup.report import (
    THUMBNAIL_SIDE,
    make_thumbnail,
    make_thumbnails,
    render_html,
    write_html_report,
)


class Page(HTMLParser):
    """What a browser would see: sections, figures, images, and the visible text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.figures: list[str] = []  # class of each member figure
        self.images: list[str] = []
        self.scripts = 0
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("class") or "")
        elif tag == "figure":
            self.figures.append(a.get("class") or "")
        elif tag == "img":
            self.images.append(a.get("src") or "")
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def decode(src: str) -> Image.Image:
    prefix = "data:image/jpeg;base64,"
    assert src.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(src[len(prefix):])))


def test_a_thumbnail_is_small_keeps_the_picture_and_knows_the_file(tmp_path: Path) -> None:
    img = synthetic_picture(1, (640, 400))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter: 400 x 640
    img.save(tmp_path / "turned.jpg", quality=95, exif=exif.tobytes())
    thumb = make_thumbnail(str(tmp_path / "turned.jpg"))
    assert (thumb.width, thumb.height) == (400, 640) and thumb.problem is None
    assert thumb.file_size == (tmp_path / "turned.jpg").stat().st_size
    assert thumb.jpeg is not None
    small = Image.open(io.BytesIO(thumb.jpeg)).convert("RGB")
    assert small.size == (100, THUMBNAIL_SIDE)
    expected = img.transpose(Image.Transpose.ROTATE_270).resize(small.size, Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(small, float) - np.asarray(expected, float)).mean() < 8  # the same picture, upright


def test_a_file_that_cannot_be_read_gets_a_reason_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 30)
    cut = make_thumbnail(str(tmp_path / "cut.png"))
    assert cut.jpeg is None and cut.problem and cut.file_size == 38 and cut.width is None
    gone = make_thumbnail(str(tmp_path / "gone.png"))
    assert gone.jpeg is None and gone.problem == "file not found" and gone.file_size is None


def test_the_report_shows_each_group_marks_keepers_and_escapes_paths(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    hostile = photos / "<script>alert(1)<" / "script>.png"  # the path reads .../<script>alert(1)</script>.png
    hostile.parent.mkdir()
    latin1 = Path(os.fsdecode(bytes(photos) + b"/caf\xe9.png"))  # a name that is not UTF-8
    for i, p in enumerate([photos / "a.png", hostile, photos / "b.png", latin1]):
        synthetic_picture(i // 2, (320, 240)).save(p, format="PNG")
    (photos / "broken.png").write_bytes(b"not a picture")
    groups = [DuplicateGroup("exact", str(photos / "a.png"), (str(photos / "a.png"), str(hostile)), 1.0),
              DuplicateGroup("near", str(photos / "b.png"), (str(photos / "b.png"), str(latin1),
                                                             str(photos / "broken.png")), 0.87)]
    seen: list[int] = []
    thumbs = make_thumbnails(groups, on_progress=seen.append)
    assert len(seen) == 5 and set(thumbs) == {m for g in groups for m in g.members}
    out = tmp_path / "report.html"
    write_html_report(out, groups, thumbs, moved={str(hostile): str(tmp_path / "aside" / "x.png")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "report.html"]  # no temporary file left

    text = out.read_text("utf-8")
    page = Page(text)
    assert page.sections == ["group exact", "group near"]
    assert page.figures == ["member keeper", "member", "member keeper", "member", "member"]
    assert page.scripts == 0 and "<script>alert" not in text  # a name is text, never markup
    visible = "".join(page.text)
    assert "<script>alert(1)</script>.png" in visible and "caf\\xe9.png" in visible
    assert "moved to " + str(tmp_path / "aside" / "x.png") in visible
    assert "score 0.87" in visible and "320 × 240 px" in visible
    assert "cannot show: not an image in a supported format" in visible  # broken.png: a placeholder
    assert len(page.images) == 4
    for src, name in zip(page.images, ["a.png", "hostile", "b.png", "latin1"]):
        small = decode(src)
        assert small.format == "JPEG" and small.size == (THUMBNAIL_SIDE, 120), name
    first = np.asarray(decode(page.images[0]).convert("RGB"), float)
    assert np.abs(first - np.asarray(decode(page.images[1]).convert("RGB"), float)).mean() < 2  # same picture
    assert np.abs(first - np.asarray(decode(page.images[2]).convert("RGB"), float)).mean() > 20  # another one


def test_no_groups_is_a_page_that_says_so() -> None:
    page = Page(render_html([], {}))
    assert page.sections == [] and "No duplicates found." in "".join(page.text)
