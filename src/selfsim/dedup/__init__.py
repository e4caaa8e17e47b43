"""Finding duplicate pictures in a collection and acting on them safely.

Work in progress (issue 10): the typed groups, the keeper rule, exact groups, the
near-duplicate candidate graph, grouping without chaining and the moves that never
lose a file are here; confirming candidate pairs (copies versus burst shots) and the
``selfsim dedup`` command come next.
"""

from selfsim.dedup.clusters import centre_groups
from selfsim.dedup.graph import Edges, neighbour_graph
from selfsim.dedup.groups import DuplicateGroup, exact_groups
from selfsim.dedup.keeper import choose_keeper
from selfsim.dedup.moves import MoveReport, PlannedMove, apply_moves, plan_moves

__all__ = ["DuplicateGroup", "Edges", "MoveReport", "PlannedMove", "apply_moves", "centre_groups", "choose_keeper",
           "exact_groups", "neighbour_graph", "plan_moves"]
