"""Finding duplicate pictures in a collection and acting on them safely.

Work in progress (issue 10): the typed groups, the keeper rule and the moves that
never lose a file are here; the near-duplicate graph and the command come next.
"""

from selfsim.dedup.groups import DuplicateGroup, exact_groups
from selfsim.dedup.keeper import choose_keeper
from selfsim.dedup.moves import MoveReport, PlannedMove, apply_moves, plan_moves

__all__ = ["DuplicateGroup", "MoveReport", "PlannedMove", "apply_moves", "choose_keeper", "exact_groups",
           "plan_moves"]
