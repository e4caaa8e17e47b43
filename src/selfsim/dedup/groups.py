"""Duplicate groups: the typed result of ``selfsim dedup``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from selfsim.dedup.keeper import choose_keeper, keeper_rank
from selfsim.index.catalog import ImageRecord

KINDS = ("exact", "near", "similar")


@dataclass(frozen=True)
class DuplicateGroup:
    """Pictures that are copies of one another.

    Attributes:
        kind: ``exact`` (same bytes, or the same pixels in another file), ``near``
            (edited copies: resized, re-encoded, cropped, filtered, watermarked) or
            ``similar`` (different shots of one scene, reported only on request).
        keeper: the member to keep (:func:`~selfsim.dedup.keeper.choose_keeper`).
        members: every member's path, the keeper first, then best to worst.
        score: how sure the grouping is, 1.0 for exact copies.
    """

    kind: str
    keeper: str
    members: tuple[str, ...]
    score: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown group kind '{self.kind}'; choose from: {', '.join(KINDS)}")
        if not self.members or self.members[0] != self.keeper:
            raise ValueError("a group lists its keeper first")

    def to_json_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "keeper": self.keeper, "members": list(self.members),
                "score": round(float(self.score), 6)}


def group_of(kind: str, records: Iterable[ImageRecord], score: float) -> DuplicateGroup:
    """A group of ``records`` with its keeper chosen and its members ordered."""
    ordered = sorted(records, key=keeper_rank)
    keeper = choose_keeper(ordered)
    return DuplicateGroup(kind, keeper.path, tuple(r.path for r in ordered), score)


def exact_groups(records: Iterable[ImageRecord]) -> list[DuplicateGroup]:
    """Files with identical content (same SHA-256), two or more to a group, largest first."""
    by_sha: dict[str, list[ImageRecord]] = {}
    for r in records:
        by_sha.setdefault(r.sha256, []).append(r)
    groups = [group_of("exact", rs, 1.0) for rs in by_sha.values() if len(rs) > 1]
    return sorted(groups, key=lambda g: (-len(g.members), g.keeper))
