"""``selfsim search``: find indexed images like the query images."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from selfsim.cli.common import (
    add_common_args,
    add_model_args,
    display_path,
    non_negative_int,
    positive_int,
    progress,
    report_skipped,
)
from selfsim.errors import NoImagesError

if TYPE_CHECKING:
    from selfsim.search import QueryFailure, QueryResult

HELP = "search an index with one or more query images"
EPILOG = """examples:
  selfsim search --index pics.idx query.jpg
  selfsim search --index pics.idx queries/ -k 5 --json > hits.jsonl
  selfsim search --index pics.idx a.jpg b.png --json | jq '.hits[0].score'
  selfsim search --index pics.idx queries/ --verify 20     # confirm the top 20 geometrically

output:
  a table per query by default; with --json one object per query per line:
  {"query": "<path>", "hits": [{"path": "<path>", "score": <float>}, ...]}, best first.
  Scores are comparable across queries: one threshold means the same for all.
  A file name byte that is not UTF-8 is written as the JSON escape \\udcNN (NN the
  byte in hex; Python's os.fsencode(json.loads(...)) gives the exact name back)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("queries", nargs="+", metavar="QUERY", help="query image files or folders")
    p.add_argument("--index", "-i", required=True, metavar="DIR", help="index folder, or a Milvus collection (milvus://HOST:PORT/NAME, milvus-lite:///path/pics.db)")
    p.add_argument("-k", "--top-k", type=positive_int, default=10, help="hits per query (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="one JSON object per query per line")
    p.add_argument("--no-flip", action="store_true", help="do not also search with the mirrored query")
    p.add_argument("--center-crop", type=crop_fraction, default=0.75, metavar="FRACTION",
                   help="also search with the query's central part (0 = off) (default: %(default)s)")
    p.add_argument("--corner-crops", type=crop_fraction, default=0.65, metavar="FRACTION",
                   help="also search with the query's four corners, this share of each side: finds "
                   "pictures pasted off-centre into others (0 = off) (default: %(default)s)")
    p.add_argument("--verify", type=non_negative_int, default=0, metavar="N",
                   help="re-rank the first N hits by geometric verification with local features "
                   "(slower; finds crops and pictures pasted into others) (default: off)")
    p.add_argument("--verify-regions", type=non_negative_int, default=3, metavar="N",
                   help="with --verify: also verify the N best hits of 16 query regions, kept only "
                   "when confirmed: finds pictures pasted small into others (0 = off) (default: %(default)s)")
    p.add_argument("--no-phash", action="store_true",
                   help="do not let near-identical perceptual hashes vouch for copies")
    p.add_argument("--raw-scores", action="store_true",
                   help="print plain cosine similarities, not comparable across queries "
                   "(implies --no-phash)")
    add_model_args(p, default=None)
    add_common_args(p)
    p.set_defaults(run=run)


def crop_fraction(text: str) -> float:
    """argparse type: a share of each side in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be a number from 0 up to (not including) 1, got {text!r}")
    return value


def _print_table(result: QueryResult) -> None:
    print(f"query: {display_path(result.query)}")
    if not result.hits:
        print("  (index is empty)")
    for rank, h in enumerate(result.hits, 1):
        print(f"  {rank:>3}  {h.score:7.4f}  {display_path(h.path)}")
    print()


def run(args: argparse.Namespace) -> int:
    from selfsim.data.files import find_images
    from selfsim.index.opening import open_with_encoder
    from selfsim.search import (
        PhashVouch,
        QueryFailure,
        RegionSearch,
        ScoreNormalizer,
        Searcher,
        Verifier,
    )

    index, encoder = open_with_encoder(args.index, args.model, args.weights)
    with index:
        normalizer = ScoreNormalizer(count=0) if args.raw_scores else ScoreNormalizer()
        vouch = None if args.raw_scores or args.no_phash else PhashVouch()
        verifier = Verifier(index) if args.verify > 0 else None
        searcher = Searcher(index, encoder, flip=not args.no_flip, center_crop=args.center_crop,
                            corner_crops=args.corner_crops,
                            normalizer=normalizer, vouch=vouch, verifier=verifier, verify_top=args.verify,
                            regions=RegionSearch(hits=args.verify_regions) if args.verify_regions else None,
                            max_pixels=args.max_pixels)
        failures: list[QueryFailure] = []
        files, skipped = find_images(args.queries, exclude=[args.index])
        failures += [QueryFailure(str(f), why) for f, why in skipped]
        bar = progress(len(files), "searching", args.quiet or len(files) < 20)
        n = 0
        for result in searcher.search_paths(files, args.top_k, on_failure=failures.append):
            n += 1
            bar.update(1)
            if args.json:
                print(json.dumps(result.to_json_dict(), allow_nan=False), flush=True)
            else:
                _print_table(result)
        bar.close()
        sys.stdout.flush()
    report_skipped([(f.query, f.reason) for f in failures], args.quiet)
    if n == 0:
        raise NoImagesError(f"no readable query images in {', '.join(display_path(q) for q in args.queries)}")
    return 0
