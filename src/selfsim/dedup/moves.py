"""Moving duplicates aside without ever losing a file.

``plan_moves`` says where every member but the keeper would go (a dry run prints
just that); ``apply_moves`` carries the plan out. A move never overwrites: a name
taken in the target folder gets `` (1)``, `` (2)``... and the new file is linked into
place with ``os.link``, which fails rather than replace anything. The source is
removed only once the copy is complete; if it cannot be removed, the copy is
taken back. A group whose keeper has vanished since is left alone entirely, and a
file already in the target folder stays there, so a second run moves nothing more.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from selfsim.dedup.groups import DuplicateGroup
from selfsim.errors import SelfsimError


@dataclass(frozen=True)
class PlannedMove:
    """Move ``source`` (a duplicate of ``keeper``) to ``target``."""

    source: str
    target: str
    keeper: str


@dataclass
class MoveReport:
    """What :func:`apply_moves` did: ``moved`` as carried out (targets may have been
    renamed to stay unique), ``skipped`` with the reason, the file left in place."""

    moved: list[PlannedMove] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def plan_moves(
    groups: Sequence[DuplicateGroup], target_dir: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]
) -> list[PlannedMove]:
    """Where each non-keeper would go: ``target_dir`` plus its path relative to the
    folder it was found in (``roots``; with several roots, under each root's name).

    A member already inside ``target_dir`` (set aside by an earlier run) stays where
    it is and is never kept in place of one outside it: each group is planned with
    its best member outside the target as keeper.

    Raises:
        SelfsimError: ``target_dir`` is one of ``roots`` or holds one
            (:func:`check_target`).
    """
    check_target(target_dir, roots)
    target = Path(os.path.abspath(target_dir))
    targets = {str(target), os.path.realpath(target)}
    bases = sorted({p for r in roots for p in (os.path.abspath(r), os.path.realpath(r))}, key=len, reverse=True)
    taken: set[str] = set()
    plan = []
    for g in groups:
        outside = [m for m in g.members if not any(_under(m, t) for t in targets)]
        for member in outside[1:]:
            dst = _unique(target / _relative(member, bases, several=len(roots) > 1), taken)
            taken.add(str(dst))
            plan.append(PlannedMove(member, str(dst), outside[0]))
    return plan


def check_target(target_dir: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]) -> None:
    """Refuse a target folder that is one of ``roots`` or holds one.

    Raises:
        SelfsimError: duplicates would land among the pictures searched.
    """
    targets = {os.path.abspath(target_dir), os.path.realpath(target_dir)}
    for root in roots:
        if any(_under(p, t) for p in (os.path.abspath(root), os.path.realpath(root)) for t in targets):
            raise SelfsimError(f"cannot move duplicates to {target_dir}: it holds {root}, which is searched; "
                               f"choose a folder apart from it or inside it")


def apply_moves(plan: Sequence[PlannedMove]) -> MoveReport:
    """Carry out a plan; every file ends up in exactly one place."""
    report = MoveReport()
    for move in plan:
        if not os.path.isfile(move.keeper):
            report.skipped.append((move.source, f"its keeper {move.keeper} is gone; left in place"))
            continue
        if not os.path.isfile(move.source):
            report.skipped.append((move.source, "gone already"))
            continue
        try:
            done = _move_no_overwrite(Path(move.source), Path(move.target))
        except OSError as e:
            report.skipped.append((move.source, f"cannot move ({e.strerror or e}); left in place"))
            continue
        report.moved.append(PlannedMove(move.source, str(done), move.keeper))
    return report


def _under(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or inside it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _relative(path: str, bases: list[str], several: bool) -> Path:
    for base in bases:
        if path != base and _under(path, base):
            rel = Path(path[len(base.rstrip(os.sep)) + 1 :])
            return Path(os.path.basename(base)) / rel if several else rel
    return Path(path.lstrip(os.sep))  # outside every root: its whole path below the target


def _unique(dst: Path, taken: set[str]) -> Path:
    """``dst``, or ``name (n).ext`` for the first n free on disk and in ``taken``."""
    candidate, n = dst, 0
    while os.path.lexists(candidate) or str(candidate) in taken:
        n += 1
        candidate = dst.with_name(f"{dst.stem} ({n}){dst.suffix}")
    return candidate


def _move_no_overwrite(src: Path, dst: Path) -> Path:
    """Move ``src`` to ``dst`` (or a free variant of it); returns where it went."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    while True:
        dst = _unique(dst, set())
        try:
            _place(src, dst)
            break
        except FileExistsError:  # taken meanwhile: try the next free name
            continue
    try:
        os.unlink(src)
    except OSError:
        os.unlink(dst)  # the source stays; take the copy back
        raise
    return dst


def _place(src: Path, dst: Path) -> None:
    """Make ``dst`` a complete copy of ``src`` without replacing anything at ``dst``."""
    try:
        os.link(src, dst)  # same file system: instant, and refuses an existing name
        return
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
    tmp = dst.with_name(f".{dst.name}.selfsim-partial")
    try:
        shutil.copy2(src, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.link(tmp, dst)
        except OSError as e:
            if e.errno == errno.EEXIST:
                raise FileExistsError(e.errno, e.strerror, str(dst)) from None
            if os.path.lexists(dst):  # no hard links here: rename, having checked the name is free
                raise FileExistsError(errno.EEXIST, "exists", str(dst)) from None
            os.rename(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()
