"""Finding duplicate pictures in a collection and acting on them safely.

``find_duplicates`` (``finder.py``) puts the pieces together: the neighbour graph of
the stored vectors, pairs confirmed by local features and by agreement once aligned,
groups around a centre, and a keeper for each; ``plan_moves``/``apply_moves`` act on
them without ever losing a file.
"""

from selfsim.dedup.clusters import centre_groups
from selfsim.dedup.finder import DedupOptions, find_duplicates
from selfsim.dedup.graph import Edges, neighbour_graph, source_graph
from selfsim.dedup.groups import DuplicateGroup, exact_groups
from selfsim.dedup.keeper import choose_keeper
from selfsim.dedup.moves import MoveReport, PlannedMove, apply_moves, plan_moves

__all__ = ["DedupOptions", "DuplicateGroup", "Edges", "MoveReport", "PlannedMove", "apply_moves", "centre_groups", "choose_keeper",
           "exact_groups", "find_duplicates", "neighbour_graph", "plan_moves", "source_graph"]
