"""Grouping confirmed duplicate pairs without chaining.

Connected components chain: A copies B's corner, B shares a scene with C, and A and
C land in one group though nothing links them. Here every member of a group is a
confirmed pair with the group's centre. Two groups merge only when one member of
the two can be that centre for all: a confirmed pair with every other member, and
with the most pixels among them (so a small picture holding parts of two large ones,
a collage, never gathers them). Among such candidates the best keeper wins; an
original beats its captioned copy of the same size, which a crop of the original
may not match. Pairs are taken strongest first, so each picture goes to the centre
it is most surely a copy of.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from selfsim.dedup.keeper import keeper_rank
from selfsim.index.catalog import ImageRecord


def centre_groups(
    pairs: Sequence[tuple[int, int, float]], records: Mapping[int, ImageRecord]
) -> list[tuple[list[int], float]]:
    """Groups of ids from confirmed pairs ``(a, b, score)``.

    Returns:
        ``(members, score)`` per group of two or more: members by keeper rank (the
        centre first), score the weakest pair that joined a member to the centre.
    """
    linked = {(min(a, b), max(a, b)): s for a, b, s in pairs}
    centre: dict[int, int] = {}  # id -> its group's centre
    members: dict[int, list[int]] = {}  # centre -> ids
    weakest: dict[int, float] = {}  # centre -> its weakest joining pair

    def rank(i: int) -> tuple[int, int, int, str]:
        return keeper_rank(records[i])

    def pair(i: int, j: int) -> float | None:
        return linked.get((min(i, j), max(i, j)))

    def pixels(i: int) -> int:
        return records[i].width * records[i].height

    for a, b, _ in sorted(pairs, key=lambda t: -t[2]):
        ca, cb = centre.get(a, a), centre.get(b, b)
        if ca == cb:
            continue
        union = members.get(ca, [ca]) + members.get(cb, [cb])
        most = max(pixels(m) for m in union)
        fits = [c for c in union if pixels(c) == most and all(pair(c, m) is not None for m in union if m != c)]
        if not fits:
            continue  # no picture is a copy of all the others: no chaining
        keep = min(fits, key=rank)
        members.pop(ca, None)
        members.pop(cb, None)
        members[keep] = union
        for m in union:
            centre[m] = keep
        joined = [pair(keep, m) for m in union if m != keep]
        weakest.pop(ca, None)
        weakest.pop(cb, None)
        weakest[keep] = min(x for x in joined if x is not None)
    out = [(sorted(ids, key=rank), weakest[c]) for c, ids in members.items() if len(ids) > 1]
    return sorted(out, key=lambda g: (-len(g[0]), rank(g[0][0])))
