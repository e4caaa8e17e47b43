"""Which member of a duplicate group to keep."""

from __future__ import annotations

from collections.abc import Sequence

from selfsim.index.catalog import ImageRecord


def keeper_rank(record: ImageRecord) -> tuple[int, int, int, str]:
    """Sort key, best first: the most pixels, then the largest file (least compressed),
    then the oldest file (most likely the original), then the path (a stable tie-break)."""
    return (-record.width * record.height, -record.size, record.mtime_ns, record.path)


def choose_keeper(members: Sequence[ImageRecord]) -> ImageRecord:
    """The suggested keeper of a group (see :func:`keeper_rank`).

    Raises:
        ValueError: ``members`` is empty.
    """
    if not members:
        raise ValueError("a duplicate group needs at least one member")
    return min(members, key=keeper_rank)
