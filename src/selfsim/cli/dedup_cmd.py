"""``selfsim dedup``: find exact copies and near-duplicates; move them aside if asked."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from selfsim.cli.common import (
    add_common_args,
    display_path,
    progress,
    report_skipped,
    say,
)
from selfsim.errors import SelfsimError
from selfsim.names import DEDUP_MIN_SIMILARITY

if TYPE_CHECKING:
    from selfsim.dedup.finder import DedupOptions
    from selfsim.dedup.groups import DuplicateGroup

HELP = "find exact copies and near-duplicates (nothing is moved unless you say so)"
EPILOG = """examples:
  selfsim dedup ~/Pictures                          # index (in a temporary index), then report
  selfsim dedup ~/Pictures --index pics.idx         # index into pics.idx first (kept for next time)
  selfsim dedup --index pics.idx --json             # an existing index, for scripts
  selfsim dedup ~/Pictures --move-to ~/dupes        # dry run: what would be moved where
  selfsim dedup ~/Pictures --move-to ~/dupes --yes  # move all but each group's keeper
  selfsim dedup ~/Pictures --html dupes.html        # also a page of thumbnails to look at

kinds: exact (same bytes, or the same pixels in another file: PNG and lossless WebP),
near (a resized, re-encoded, cropped, filtered or captioned copy: confirmed by local
features and by agreeing once aligned), similar (another shot of the same scene; only
with --similar, never moved).
The keeper is the member with the most pixels, then the largest file, then the oldest.
--json prints {"groups": [{"kind", "keeper", "members", "score"}, ...]}, members
including the keeper. Moves keep paths relative to PATH and never overwrite; a --move-to
folder inside PATH is left out of the search, so running again moves nothing more."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dedup", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="folders to index first (optional with --index)")
    p.add_argument("--index", "-i", metavar="DIR", help="index folder or Milvus address (made or updated from PATH when given)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--similar", action="store_true", help="also report other shots of one scene (never moved)")
    p.add_argument("--min-similarity", type=float, default=DEDUP_MIN_SIMILARITY, metavar="COSINE",
                   help="embedding similarity a pair needs to be checked at all (default: %(default)s)")
    p.add_argument("--move-to", metavar="DIR", help="move every member but the keeper here (a dry run without --yes)")
    p.add_argument("--yes", action="store_true", help="with --move-to: really move")
    p.add_argument("--html", metavar="FILE", help="also write a report with thumbnails to FILE (one HTML file)")
    add_common_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from selfsim.dedup.finder import DedupOptions
    from selfsim.dedup.moves import check_target
    from selfsim.dedup.report import make_thumbnails, write_html_report

    if not args.paths and not args.index:
        raise SelfsimError("give folders to look in, an --index, or both")
    if args.yes and not args.move_to:
        raise SelfsimError("--yes goes with --move-to")
    if args.html:  # these before the long part, not after it
        _check_report_path(Path(args.html))
    if args.move_to:
        check_target(args.move_to, args.paths)
    groups = _find(args, DedupOptions(min_similarity=args.min_similarity, similar=args.similar))
    _print(groups, args.json)
    thumbnails = None
    if args.html:  # made before any move, while every file is where it was found
        bar = progress(sum(len(g.members) for g in groups), "thumbnails", args.quiet)
        thumbnails = make_thumbnails(groups, max_pixels=args.max_pixels, on_progress=bar.update)
        bar.close()
    moved = _move(groups, args) if args.move_to else {}
    if thumbnails is not None:
        write_html_report(args.html, groups, thumbnails, moved)
        say(f"report written to {display_path(args.html)}")
    return 0


def _find(args: argparse.Namespace, options: DedupOptions) -> list[DuplicateGroup]:
    from selfsim.dedup.finder import find_duplicates
    from selfsim.index import Index
    from selfsim.index.address import is_milvus

    with tempfile.TemporaryDirectory(prefix="selfsim-dedup-") as scratch:
        folder: str | Path = (args.index if is_milvus(args.index) else Path(args.index)) if args.index \
            else Path(scratch) / "index"
        if args.paths:
            _index(folder, args)
        with Index.open(folder) as index:
            bar = None

            def plan(n: int) -> None:
                nonlocal bar
                bar = progress(n, "checking pairs", args.quiet)

            groups = find_duplicates(index, options, on_plan=plan, on_progress=lambda n: bar.update(n) if bar else None)
            if bar is not None:
                bar.close()
    return groups


def _print(groups: list[DuplicateGroup], as_json: bool) -> None:
    from selfsim.dedup.groups import KINDS

    if as_json:
        print(json.dumps({"groups": [g.to_json_dict() for g in groups]}, allow_nan=False))
        return
    for g in groups:
        print(f"{g.kind} ({len(g.members)} pictures, score {g.score:.2f})")
        for member in g.members:
            print(f"  {'keep' if member == g.keeper else '    '}  {display_path(member)}")
    say(f"{len(groups)} group(s): " + ", ".join(f"{sum(g.kind == k for g in groups)} {k}" for k in KINDS))


def _move(groups: list[DuplicateGroup], args: argparse.Namespace) -> dict[str, str]:
    """Moves (or a dry run of them); returns where each moved file went."""
    from selfsim.dedup.moves import apply_moves, plan_moves

    movable = [g for g in groups if g.kind != "similar"]
    moves = plan_moves(movable, args.move_to, args.paths or [])
    if not args.yes:
        for move in moves:
            say(f"would move {display_path(move.source)} -> {display_path(move.target)}")
        say(f"dry run: {len(moves)} file(s) would be moved; add --yes to move them")
        return {}
    report = apply_moves(moves)
    report_skipped(report.skipped, args.quiet)
    say(f"moved {len(report.moved)} file(s) to {display_path(args.move_to)}")
    return {m.source: m.target for m in report.moved}


def _check_report_path(path: Path) -> None:
    if path.is_dir():
        raise SelfsimError(f"--html {display_path(path)} is a folder; give a file name such as report.html")
    if not path.parent.is_dir():
        raise SelfsimError(f"--html: folder {display_path(path.parent)} does not exist; make it first")


def _index(folder: str | Path, args: argparse.Namespace) -> None:
    from selfsim.index import sync
    from selfsim.index.opening import open_or_create_index

    opened = open_or_create_index(folder, notify=say)
    with opened.index as index:
        bar = progress(0, "embedding", args.quiet)
        report = sync(index, opened.encoder, args.paths, max_pixels=args.max_pixels,
                      exclude=[args.move_to] if args.move_to else [],  # what was set aside stays aside
                      on_plan=lambda n: bar.reset(total=n), on_progress=bar.update)
        bar.close()
    report_skipped([(s.path, s.reason) for s in report.skipped], args.quiet)
