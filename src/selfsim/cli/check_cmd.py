"""``selfsim check``: is an index sound? ``--repair`` mends what can be mended."""

from __future__ import annotations

import argparse
import json

from selfsim.cli.common import EXIT_ERROR, EXIT_OK, display_path

HELP = "check an index for damage, and repair what can be repaired"
EPILOG = """examples:
  selfsim check pics.idx
  selfsim check pics.idx --repair      # rebuild the vector file, fix meta rows, drop bad rows
  selfsim check pics.idx --json

checks: SQLite's integrity check, the meta rows (format, model, vector length,
generation), every stored vector (length, finite, unit length, made by the index's
model), the FAISS file against the catalog (ids and count), stale files, cached
local features of pictures no longer indexed, and how many indexed files are gone.
Exit status 0 when nothing is left to mend, 1 otherwise."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("index", metavar="INDEX", help="index folder")
    p.add_argument("--repair", action="store_true", help="mend what can be mended (takes the write lock)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from selfsim.index.check import check_index

    report = check_index(args.index, repair=args.repair)
    if args.json:
        print(json.dumps({
            "index": report.path, "ok": report.ok, "images": report.images, "files_gone": report.files_gone,
            "problems": [{"what": p.what, "repairable": p.repairable, "repaired": p.repaired}
                         for p in report.problems],
        }))
    else:
        print(f"{display_path(report.path)}: {report.images} images, {report.files_gone} of their files gone")
        for p in report.problems:
            state = "repaired" if p.repaired else ("repairable: add --repair" if p.repairable else "not repairable")
            print(f"  {p.what} [{state}]")
        if report.files_gone:
            print("  (gone files are not removed here: `selfsim index FOLDER --index INDEX --prune` does it)")
        print("ok" if report.ok else "problems remain")
    return EXIT_OK if report.ok else EXIT_ERROR
