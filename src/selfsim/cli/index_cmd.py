"""``selfsim index``: build or update an index from folders of images."""

from __future__ import annotations

import argparse
import time

from selfsim.cli.common import (
    add_common_args,
    add_model_args,
    display_path,
    positive_int,
    progress,
    report_skipped,
    say,
)
from selfsim.errors import NoImagesError, SelfsimError
from selfsim.names import STORE_KINDS

HELP = "index folders of images (only new or changed files are embedded)"
EPILOG = """examples:
  selfsim index ~/Pictures --index pics.idx
  selfsim index photos/ scans/ --index pics.idx             # several folders in one index
  selfsim index ~/Pictures --index pics.idx --model my-model/  # a model from `selfsim train`
  selfsim index ~/Pictures --index pics.idx --type hnsw     # approximate search for big collections
  selfsim index ~/Pictures --index pics.idx --local-features  # ready for `search --verify` now
  selfsim index /mnt/old-disk --index pics.idx --prune      # forget pictures of a folder that is gone
  selfsim index ~/Pictures --index pics.idx --rebuild --model my-model/  # re-embed, old index kept until done
  selfsim index ~/Pictures --index milvus-lite://pics.db     # the index in a Milvus Lite file
  selfsim index /shared/pics --index milvus://db:19530/pics --engine ray --ray-address ray://head:10001 --ray-actors 8

Run it again after the folder changes: new and changed files are embedded, moved
or renamed ones keep their vectors, deleted ones are dropped, the rest kept.
Deletions need evidence: a folder that is missing or holds no picture any more
(an unmounted disk?) is refused, and when more than half of a folder's pictures
are gone they are kept; --prune removes them all the same."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (recursive)")
    p.add_argument("--index", "-i", required=True, metavar="DIR", help="index folder (created if missing), or a Milvus collection: milvus://HOST:PORT/COLLECTION, "
                   "milvus-lite:///path/pics.db")
    add_model_args(p, default=None)
    p.add_argument("--type", choices=STORE_KINDS, default=None,
                   help="vector index: exact 'flat', approximate 'hnsw' (a graph) or 'ivfpq' (compact "
                   "codes), each approximate one re-scored exactly; 'auto': flat up to 50,000 images, then "
                   "hnsw, then ivfpq, within SELFSIM_MEMORY_BUDGET (GB; default half the memory). On an "
                   "existing index the store is rebuilt from the catalog, nothing is re-embedded "
                   "(default: auto for a new index, else the index's own)")
    p.add_argument("--rebuild", action="store_true",
                   help="re-embed everything under PATH with --model, beside the old index, which "
                   "is replaced only when the new one is complete")
    p.add_argument("--prune", action="store_true",
                   help="remove every indexed picture under PATH whose file is gone, also when PATH "
                   "no longer exists or most of its pictures vanished")
    p.add_argument("--verify-content", action="store_true",
                   help="hash every file, not only those whose size or time changed: finds content "
                   "replaced under the same size and time, at the cost of reading every file")
    p.add_argument("--local-features", action="store_true",
                   help="also detect and store SIFT features now, so that `search --verify` is fast "
                   "from the first query (otherwise they are cached on first use)")
    p.add_argument("--batch-size", type=int, default=32, help="images per model batch (default: %(default)s)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="who decodes and embeds: this process ('local', default) or Ray Data tasks and a "
                   "pool of model actors ('ray', pip install 'selfsim[ray]'); the index is written here")
    p.add_argument("--ray-address", metavar="ADDR", default=None,
                   help="a Ray cluster (ray://HOST:10001, or 'auto' on a cluster node; default: a local "
                   "Ray runtime). Its workers must see PATH at the same paths")
    p.add_argument("--ray-actors", type=positive_int, default=1, metavar="N",
                   help="model actors, one model each (default: %(default)s)")
    p.add_argument("--ray-gpus-per-actor", type=float, default=0.0, metavar="G",
                   help="GPUs each actor takes (default: 0, CPU actors)")
    add_common_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from selfsim.index import sync
    from selfsim.index.opening import open_or_create_index
    from selfsim.index.rebuild import rebuild

    start = time.perf_counter()
    opened = open_or_create_index(args.index, args.model, args.weights, args.type, args.rebuild, notify=say)
    index, encoder = opened.index, opened.encoder
    bar = None

    def on_plan(n: int) -> None:
        nonlocal bar
        bar = progress(n, "embedding", args.quiet)

    def on_progress(n: int) -> None:
        if bar is not None:
            bar.update(n)

    options = dict(batch_size=args.batch_size, max_pixels=args.max_pixels, verify_content=args.verify_content,
                   on_plan=on_plan, on_progress=on_progress)
    if args.engine == "ray":
        from selfsim.index.ray_engine import ray_engine

        options["engine"] = ray_engine(encoder, address=args.ray_address, actors=args.ray_actors,
                                       gpus_per_actor=args.ray_gpus_per_actor, max_pixels=args.max_pixels,
                                       batch_size=args.batch_size)
    elif args.ray_address or args.ray_actors != 1 or args.ray_gpus_per_actor:
        raise SelfsimError("--ray-address, --ray-actors and --ray-gpus-per-actor go with --engine ray")
    with index:
        if args.rebuild and opened.existed:
            report = rebuild(index, encoder, args.paths, **options)
        else:
            report = sync(index, encoder, args.paths, prune=args.prune, **options)
        total = len(index)
        if bar is not None:
            bar.close()
        if args.local_features:
            from selfsim.index.feature_budget import FEATURES_BYTES, feature_cache_bytes
            from selfsim.search import Verifier

            ids = [r.id for r in index.records()]
            room = feature_cache_bytes() // FEATURES_BYTES
            if len(ids) > room:
                say(f"local features of {len(ids)} pictures would not fit the feature cache "
                    f"({feature_cache_bytes() // 2**20} MB, SELFSIM_FEATURE_CACHE_MB); detecting them for the "
                    f"first {room}, the others when a search needs them")
                ids = ids[:room]
            fbar = progress(len(ids), "local features", args.quiet)
            Verifier(index).warm(ids, on_progress=fbar.update)
            fbar.close()
    report_skipped([(s.path, s.reason) for s in report.skipped], args.quiet)
    for kept in report.kept:
        say(f"kept {kept.gone} of {kept.indexed} indexed pictures under {display_path(kept.root)} whose "
            f"files are gone (more than half: is a disk unmounted?); add --prune to remove them")
    seconds = time.perf_counter() - start
    moved = f" ({report.moved} of them moved, vectors kept)" if report.moved else ""
    say(
        f"indexed {display_path(args.index)}: {total} images ({report.added} added{moved}, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged, {len(report.skipped)} skipped) "
        f"in {seconds:.1f}s with model '{encoder.config.name}'"
    )
    if total == 0 and not args.prune:
        raise NoImagesError(f"no readable images under {', '.join(display_path(p) for p in args.paths)}")
    return 0
