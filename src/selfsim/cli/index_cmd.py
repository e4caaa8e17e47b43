"""``selfsim index``: build or update an index from folders of images."""

from __future__ import annotations

import argparse
import time

from selfsim.cli.common import add_common_args, add_model_args, progress, report_skipped, say
from selfsim.errors import NoImagesError
from selfsim.index import Index, is_index, sync
from selfsim.index.store import STORE_KINDS
from selfsim.models import load_embedder
from selfsim.search import model_ref

HELP = "index folders of images (only new or changed files are embedded)"
EPILOG = """examples:
  selfsim index ~/Pictures --index pics.idx
  selfsim index photos/ scans/ --index pics.idx             # several folders in one index
  selfsim index ~/Pictures --index pics.idx --model my-model/  # a model from `selfsim train`
  selfsim index ~/Pictures --index pics.idx --type hnsw     # approximate search for big collections
  selfsim index ~/Pictures --index pics.idx --local-features  # ready for `search --verify` now

Run it again after the folder changes: new and changed files are embedded,
deleted ones dropped, the rest kept."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (recursive)")
    p.add_argument("--index", "-i", required=True, metavar="DIR", help="index folder (created if missing)")
    add_model_args(p, default=None)
    p.add_argument("--type", choices=STORE_KINDS, default="auto",
                   help="vector index: exact 'flat', approximate 'hnsw', or 'auto' "
                   "(flat up to 100,000 images) (default: %(default)s)")
    p.add_argument("--rebuild", action="store_true", help="drop all vectors and re-embed with --model")
    p.add_argument("--local-features", action="store_true",
                   help="also detect and store SIFT features now, so that `search --verify` is fast "
                   "from the first query (otherwise they are cached on first use)")
    p.add_argument("--batch-size", type=int, default=32, help="images per model batch (default: %(default)s)")
    add_common_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if is_index(args.index):
        index = Index.open(args.index, writable=True)
        spec = index.model.spec
        model = args.model or spec.get("model") or "default"
        weights = args.weights if args.model else (args.weights or spec.get("weights"))
        encoder = load_embedder(model, weights=weights)
        if args.rebuild:
            index.reset(model_ref(encoder))
        else:
            try:
                index.check_model(model_ref(encoder))
            except Exception:
                index.close()
                raise
    else:
        encoder = load_embedder(args.model or "default", weights=args.weights)
        index = Index.create(args.index, model_ref(encoder), kind=args.type)
    bar = None

    def on_plan(n: int) -> None:
        nonlocal bar
        bar = progress(n, "embedding", args.quiet)

    def on_progress(n: int) -> None:
        if bar is not None:
            bar.update(n)

    with index:
        report = sync(index, encoder, args.paths, batch_size=args.batch_size,
                      max_pixels=args.max_pixels, on_plan=on_plan, on_progress=on_progress)
        total = len(index)
        if bar is not None:
            bar.close()
        if args.local_features:
            from selfsim.search import Verifier

            ids = [r.id for r in index.records()]
            fbar = progress(len(ids), "local features", args.quiet)
            Verifier(index).warm(ids, on_progress=fbar.update)
            fbar.close()
    report_skipped([(s.path, s.reason) for s in report.skipped], args.quiet)
    seconds = time.perf_counter() - start
    say(
        f"indexed {args.index}: {total} images ({report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged, {len(report.skipped)} skipped) "
        f"in {seconds:.1f}s with model '{encoder.config.name}'"
    )
    if total == 0:
        raise NoImagesError(f"no readable images under {', '.join(args.paths)}")
    return 0
