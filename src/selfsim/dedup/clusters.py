"""Grouping confirmed duplicate pairs without chaining.

Connected components chain: A copies B's corner, B shares a scene with C, and A and
C land in one group though nothing links them. Here every group has a centre (its
best keeper candidate) and a picture joins a group only through a confirmed pair
with that centre; two groups merge only when their centres are themselves a pair.
Pairs are taken strongest first, so each picture goes to the centre it is most
surely a copy of.
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

    for a, b, _ in sorted(pairs, key=lambda t: -t[2]):
        ca, cb = centre.get(a, a), centre.get(b, b)
        if ca == cb:
            continue
        if pair(ca, cb) is None:
            continue  # the two centres are not copies of each other: no chaining
        keep, other = (ca, cb) if rank(ca) <= rank(cb) else (cb, ca)
        moving = members.pop(other, [other])
        if any(pair(keep, m) is None for m in moving if m != other):
            members[other] = moving  # some of the other group are not copies of this centre
            continue
        group = members.setdefault(keep, [keep])
        group.extend(moving)
        for m in moving:
            centre[m] = keep
        centre[keep] = keep
        joined = [pair(keep, m) for m in moving]
        weakest[keep] = min([weakest.get(keep, 1.0), weakest.pop(other, 1.0), *[x for x in joined if x is not None]])
    out = [(sorted(ids, key=rank), weakest[c]) for c, ids in members.items() if len(ids) > 1]
    return sorted(out, key=lambda g: (-len(g[0]), rank(g[0][0])))
