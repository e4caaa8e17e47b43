"""A duplicate report to look at: one self-contained HTML file of thumbnails.

Every group is a section with each member's thumbnail (a small JPEG embedded as a
``data:`` URI, so the file can be mailed or moved on its own), the keeper marked,
the kind and score, and each member's path, size in pixels and file size. Paths are
shown as :func:`~selfsim.display.display_path` writes them and HTML-escaped, so a
file named ``<script>`` is text, and a name that is not UTF-8 shows its bytes. A
file that cannot be read gets a placeholder saying why; nothing stops the report.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from selfsim.atomic import atomic_write
from selfsim.data.reader import DEFAULT_MAX_PIXELS, ORIGINAL_SIZE, read_image
from selfsim.dedup.groups import KINDS, DuplicateGroup
from selfsim.display import display_path
from selfsim.errors import ImageReadError

#: Longer side of a thumbnail, in pixels.
THUMBNAIL_SIDE = 160


@dataclass(frozen=True)
class Thumbnail:
    """A member of a group as the report shows it.

    Attributes:
        path: the file.
        jpeg: a JPEG at most ``THUMBNAIL_SIDE`` pixels on its longer side; None when
            the file cannot be read (``problem`` says why).
        width, height: the picture's own size (EXIF orientation applied), or None.
        file_size: bytes on disk, or None when the file is gone.
        problem: why there is no picture, or None.
    """

    path: str
    jpeg: bytes | None
    width: int | None
    height: int | None
    file_size: int | None
    problem: str | None = None


def make_thumbnail(path: str, side: int = THUMBNAIL_SIDE, max_pixels: int = DEFAULT_MAX_PIXELS) -> Thumbnail:
    """A thumbnail of ``path``, or a placeholder with the reason it cannot be read."""
    try:
        file_size: int | None = os.stat(path).st_size
    except OSError:
        file_size = None
    try:
        img = read_image(path, min_side=side, max_pixels=max_pixels)
    except ImageReadError as e:
        return Thumbnail(path, None, None, None, file_size, e.reason)
    width, height = img.info.get(ORIGINAL_SIZE, img.size)
    img.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return Thumbnail(path, out.getvalue(), width, height, file_size)


def make_thumbnails(
    groups: Sequence[DuplicateGroup],
    side: int = THUMBNAIL_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int = 4,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Thumbnail]:
    """A thumbnail of every member of ``groups``, by path; ``on_progress`` gets 1 per file.

    Decoding runs on ``workers`` threads (Pillow decodes without holding the GIL).
    """
    paths = list(dict.fromkeys(m for g in groups for m in g.members))
    out: dict[str, Thumbnail] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for thumb in pool.map(lambda p: make_thumbnail(p, side, max_pixels), paths):
            out[thumb.path] = thumb
            if on_progress is not None:
                on_progress(1)
    return out


def render_html(
    groups: Sequence[DuplicateGroup],
    thumbnails: Mapping[str, Thumbnail],
    moved: Mapping[str, str] | None = None,
    title: str = "Duplicates found by selfsim",
) -> str:
    """The report as one HTML document.

    Args:
        groups: as :func:`~selfsim.dedup.finder.find_duplicates` returns them.
        thumbnails: by path (:func:`make_thumbnails`); a member without one gets a placeholder.
        moved: where members were moved to (source -> target), shown under each.
    """
    moved = moved or {}
    counts = ", ".join(f"{sum(g.kind == k for g in groups)} {k}" for k in KINDS)
    sections = "\n".join(_group(n, g, thumbnails, moved) for n, g in enumerate(groups, 1))
    empty = "" if groups else '<p class="none">No duplicates found.</p>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="summary">{len(groups)} group(s): {counts}. The keeper of each group is marked <span class="tag keep">keep</span>.</p>
{empty}{sections}
</body>
</html>
"""


def write_html_report(
    path: str | os.PathLike[str],
    groups: Sequence[DuplicateGroup],
    thumbnails: Mapping[str, Thumbnail],
    moved: Mapping[str, str] | None = None,
) -> None:
    """Write :func:`render_html` to ``path`` atomically (a crash leaves the old file or the new one)."""
    text = render_html(groups, thumbnails, moved).encode("utf-8")

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(text)

    atomic_write(Path(path), write)


def _group(n: int, g: DuplicateGroup, thumbnails: Mapping[str, Thumbnail], moved: Mapping[str, str]) -> str:
    members = "\n".join(_member(m, m == g.keeper, thumbnails.get(m), moved.get(m)) for m in g.members)
    note = ' <span class="note">another shot of the scene: never moved</span>' if g.kind == "similar" else ""
    return (f'<section class="group {g.kind}" id="group-{n}">\n'
            f'<h2>{n}. <span class="kind">{g.kind}</span> &middot; {len(g.members)} pictures &middot; '
            f'score {g.score:.2f}{note}</h2>\n<div class="members">\n{members}\n</div>\n</section>')


def _member(path: str, keeper: bool, thumb: Thumbnail | None, moved_to: str | None) -> str:
    shown = html.escape(display_path(path))
    if thumb is not None and thumb.jpeg is not None:
        data = base64.b64encode(thumb.jpeg).decode("ascii")
        picture = f'<img src="data:image/jpeg;base64,{data}" alt="{shown}">'
    else:
        why = thumb.problem if thumb is not None else "no thumbnail"
        picture = f'<div class="placeholder">cannot show: {html.escape(display_path(why or ""))}</div>'
    facts = []
    if thumb is not None and thumb.width is not None:
        facts.append(f"{thumb.width} &times; {thumb.height} px")
    if thumb is not None and thumb.file_size is not None:
        facts.append(_file_size(thumb.file_size))
    tag = '<span class="tag keep">keep</span>' if keeper else '<span class="tag copy">copy</span>'
    where = "" if moved_to is None else f'<div class="moved">moved to {html.escape(display_path(moved_to))}</div>'
    return (f'<figure class="member{" keeper" if keeper else ""}">'
            f'<a href="{_file_uri(moved_to or path)}">{picture}</a>'
            f'<figcaption>{tag} <span class="facts">{" &middot; ".join(facts)}</span>'
            f'<div class="path">{shown}</div>{where}</figcaption></figure>')


def _file_uri(path: str) -> str:
    """A ``file:`` link to ``path`` (its bytes percent-encoded, so any name works)."""
    return "file://" + quote(os.fsencode(os.path.abspath(path)), safe="/")


def _file_size(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    return f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; }
.group { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 1em 0; padding: 0.5em 1em; }
.group h2 { font-size: 1.05em; margin: 0.3em 0 0.6em; }
.exact .kind { color: #0a6; } .near .kind { color: #06a; } .similar .kind { color: #a60; }
.note { font-weight: normal; color: #777; }
.members { display: flex; flex-wrap: wrap; gap: 12px; }
.member { margin: 0; width: 180px; padding: 6px; border: 2px solid #ddd; border-radius: 4px; }
.member.keeper { border-color: #0a6; background: #f0fbf5; }
.member img, .placeholder { display: block; max-width: 160px; max-height: 160px; margin: 0 auto; }
.placeholder { width: 160px; height: 120px; background: #eee; color: #a00; font-size: 12px;
  display: flex; align-items: center; justify-content: center; text-align: center; }
figcaption { font-size: 12px; margin-top: 4px; }
.path, .moved { word-break: break-all; font-family: ui-monospace, monospace; }
.moved { color: #777; }
.tag { display: inline-block; padding: 0 5px; border-radius: 3px; font-weight: bold; font-size: 11px; }
.tag.keep { background: #0a6; color: #fff; } .tag.copy { background: #ddd; color: #444; }
.facts { color: #555; }
"""
