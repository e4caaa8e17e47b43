"""Finding duplicate pictures in a collection and acting on them safely.

``find_duplicates`` (``finder.py``) puts the pieces together: the neighbour graph of
the stored vectors, pairs confirmed by local features and by agreement once aligned,
groups around a centre, and a keeper for each; ``plan_moves``/``apply_moves`` act on
them without ever losing a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

_EXPORTS = {
    "centre_groups": "selfsim.dedup.clusters",
    "DedupOptions": "selfsim.dedup.finder",
    "find_duplicates": "selfsim.dedup.finder",
    "Edges": "selfsim.dedup.graph",
    "neighbour_graph": "selfsim.dedup.graph",
    "source_graph": "selfsim.dedup.graph",
    "DuplicateGroup": "selfsim.dedup.groups",
    "exact_groups": "selfsim.dedup.groups",
    "choose_keeper": "selfsim.dedup.keeper",
    "MoveReport": "selfsim.dedup.moves",
    "PlannedMove": "selfsim.dedup.moves",
    "apply_moves": "selfsim.dedup.moves",
    "plan_moves": "selfsim.dedup.moves",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.dedup.clusters import centre_groups
    from selfsim.dedup.finder import DedupOptions, find_duplicates
    from selfsim.dedup.graph import Edges, neighbour_graph, source_graph
    from selfsim.dedup.groups import DuplicateGroup, exact_groups
    from selfsim.dedup.keeper import choose_keeper
    from selfsim.dedup.moves import MoveReport, PlannedMove, apply_moves, plan_moves

__all__ = ["apply_moves", "centre_groups", "choose_keeper", "DedupOptions", "DuplicateGroup", "Edges", "exact_groups", "find_duplicates", "MoveReport", "neighbour_graph", "plan_moves", "PlannedMove", "source_graph"]
