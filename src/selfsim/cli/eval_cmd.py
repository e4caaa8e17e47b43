"""``selfsim eval``: how well each method works on your own pictures, side by side."""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from selfsim.cli.common import (
    add_common_args,
    display_path,
    non_negative_int,
    positive_int,
    progress,
    report_skipped,
    say,
)
from selfsim.errors import NoImagesError, SelfsimError
from selfsim.names import EDIT_NAMES, EVAL_BASELINES, EVAL_ENCODER_METHODS

if TYPE_CHECKING:
    from tqdm import tqdm

    from selfsim.eval.labeled import LabeledEvaluation
    from selfsim.eval.unlabeled import CopyEvaluation
    from selfsim.models.embedder import Embedder

METHODS = (*EVAL_BASELINES, *EVAL_ENCODER_METHODS)

HELP = "measure search and copy detection on your own pictures: pHash, ORB, selfsim, your models"
EPILOG = f"""examples:
  selfsim eval ~/Pictures                                # no labels: edited copies of your pictures
  selfsim eval ~/Pictures --model my-model --report eval-report
  selfsim eval ~/Pictures --edits crop,text,jpeg --json  # only the edits your copies undergo
  selfsim eval photos/ --labels labels.csv               # with labels: path,label rows
  selfsim eval classes/ --by-folder                      # with labels: one subfolder per class

without labels: a share of the pictures (--holdout) is held out, the rest are indexed,
and every picture gets --copies edited copies as queries. A copy's right answer is its
original; copies of held-out pictures have none and must score low. Each method's top
hit per query is scored: micro-AP, recall@1, and the recall one score threshold reaches
at 90 % and 99 % precision, with that threshold. Use the threshold with the command in
the last column (plain cosine: dedup --min-similarity; selfsim search: its scores).
Methods: {', '.join(METHODS)} (--methods picks some).
Edits: {', '.join(EDIT_NAMES)}.

with labels: every picture queries all the others; mAP, mAP@R, recall@k, precision@k
and k-NN accuracy for pHash, the default encoder and each --model."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="folders (or files) of pictures")
    p.add_argument("--model", action="append", default=[], metavar="MODEL",
                   help="also evaluate this model (a selfsim model folder, an .onnx file or a timm name); "
                   "repeat for several. The default encoder always runs.")
    labels = p.add_mutually_exclusive_group()
    labels.add_argument("--labels", metavar="CSV", help="with labels: a CSV of path,label rows")
    labels.add_argument("--by-folder", action="store_true", help="with labels: each subfolder of PATH is a class")
    p.add_argument("--methods", type=_methods, default=METHODS, metavar="LIST",
                   help=f"comma-separated, from: {','.join(METHODS)} (default: all)")
    p.add_argument("--edits", type=_edits, default=EDIT_NAMES, metavar="LIST",
                   help="comma-separated edit families for the copies (default: all)")
    p.add_argument("--holdout", type=_share, default=1 / 3, metavar="SHARE",
                   help="share of pictures held out of the index (default: 1/3)")
    p.add_argument("--copies", type=positive_int, default=2, metavar="N", help="edited copies per picture (default: 2)")
    p.add_argument("--max-pictures", type=positive_int, default=150, metavar="N",
                   help="use a seeded sample of at most N pictures (default: %(default)s; "
                   "ORB and verified search grow with N x N)")
    p.add_argument("--verify", type=non_negative_int, default=20, metavar="N",
                   help="hits re-ranked by verified search (0 leaves it out) (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="draws the sample, the split and the edits (default: 0)")
    p.add_argument("--work", metavar="DIR", help="keep the copy set and indexes here (default: a temporary folder)")
    p.add_argument("--report", metavar="DIR", help="write report.md with a precision-recall plot and examples here")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    add_common_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    encoders = _encoders(args.model)
    with tempfile.TemporaryDirectory(prefix="selfsim-eval-") as scratch:
        work = Path(args.work) if args.work else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        stages = _Stages(args.quiet)
        try:
            if args.labels or args.by_folder:
                result: CopyEvaluation | LabeledEvaluation = _labeled(args, encoders, work, stages)
            else:
                result = _unlabeled(args, encoders, work, stages)
        finally:
            stages.close()
        from selfsim.eval.unlabeled import CopyEvaluation

        if isinstance(result, CopyEvaluation):
            _print_copies(result, args)
        else:
            _print_labeled(result, args)
    return 0


def _unlabeled(args: argparse.Namespace, encoders: list[tuple[str, Embedder]], work: Path,
               stages: _Stages) -> CopyEvaluation:
    import numpy as np

    from selfsim.data.files import find_images
    from selfsim.eval.copyset import build_copy_set
    from selfsim.eval.report import write_copy_report
    from selfsim.eval.unlabeled import evaluate_copies

    files, skipped = find_images(args.paths, exclude=[work])
    report_skipped([(str(f), why) for f, why in skipped], args.quiet)
    if len(files) < 3:
        raise NoImagesError(f"an evaluation needs at least 3 pictures, found {len(files)} in "
                            f"{', '.join(display_path(p) for p in args.paths)}")
    if len(files) > args.max_pictures:
        pick = np.random.default_rng(args.seed).choice(len(files), args.max_pictures, replace=False)
        say(f"using {args.max_pictures} of {len(files)} pictures (--max-pictures)")
        files = [files[int(i)] for i in sorted(pick)]
    copy_set = build_copy_set(files, work / "copyset", seed=args.seed, holdout=args.holdout, copies=args.copies,
                              edits=args.edits, max_pixels=args.max_pixels,
                              on_progress=stages("making edited copies", len(files)))
    report_skipped(copy_set.skipped, args.quiet)
    result = evaluate_copies(copy_set, encoders, methods=args.methods, verify=args.verify, work=work / "indexes",
                             on_stage=stages)
    stages.close()
    if args.report:
        say(f"report: {display_path(str(write_copy_report(result, args.report)))}")
    return result


def _labeled(args: argparse.Namespace, encoders: list[tuple[str, Embedder]], work: Path,
             stages: _Stages) -> LabeledEvaluation:
    from selfsim.data.files import find_images
    from selfsim.eval.labeled import evaluate_labels, labels_from_csv, labels_from_folders
    from selfsim.eval.report import write_labeled_report

    if args.by_folder:
        if len(args.paths) != 1:
            raise SelfsimError("--by-folder takes one folder, whose subfolders are the classes")
        labels = labels_from_folders(args.paths[0])
    else:
        labels = labels_from_csv(args.labels)
        files, _ = find_images(args.paths, exclude=[work])
        inside = {str(Path(f).resolve()) for f in files}
        labels = {f: c for f, c in labels.items() if f in inside}
        if not labels:
            raise NoImagesError(f"none of the pictures in {display_path(args.labels)} are under "
                                f"{', '.join(display_path(p) for p in args.paths)}")
    result = evaluate_labels(labels, encoders, work / "indexes", phash="phash" in args.methods,
                             seed=args.seed, on_stage=stages)
    stages.close()
    report_skipped(result.skipped, args.quiet)
    if args.report:
        say(f"report: {display_path(str(write_labeled_report(result, args.report)))}")
    return result


def _print_copies(result: CopyEvaluation, args: argparse.Namespace) -> None:
    from selfsim.eval.report import copy_table, per_edit_table

    cs = result.copy_set
    if args.json:
        print(json.dumps({
            "mode": "copies",
            "references": len(cs.refs), "queries": len(cs.queries), "queries_with_original": cs.n_positives,
            "methods": [{
                "name": r.name, "method": r.family, "model": r.model,
                "micro_ap": r.metrics.micro_ap, "recall_at_1": r.metrics.recall_at_1,
                "recall_at_p90": r.metrics.recall_at_p90, "threshold_at_p90": r.metrics.threshold_at_p90,
                "recall_at_p99": r.metrics.recall_at_p99, "threshold_at_p99": r.metrics.threshold_at_p99,
                "seconds": r.seconds, "thresholds_for": r.use, "recall_at_1_per_edit": r.per_edit,
            } for r in result.rows],
        }, allow_nan=False))
        return
    print(f"{len(cs.refs)} pictures indexed, {len(cs.queries)} edited copies as queries "
          f"({len(cs.queries) - cs.n_positives} of held-out pictures: no right answer)\n")
    print(copy_table(result))
    print("\nrecall@1 per edit:\n")
    print(per_edit_table(result))


def _print_labeled(result: LabeledEvaluation, args: argparse.Namespace) -> None:
    from selfsim.eval.report import labeled_table

    if args.json:
        print(json.dumps({
            "mode": "labels", "pictures": result.n_pictures, "classes": result.n_classes,
            "methods": [{
                "name": r.name, "map": r.metrics.map, "map_at_r": r.metrics.map_at_r,
                "recall_at": {str(k): v for k, v in r.metrics.recall_at.items()},
                "precision_at": {str(k): v for k, v in r.metrics.precision_at.items()},
                "knn_accuracy": r.metrics.knn_accuracy, "knn": r.metrics.knn,
                "queries": r.metrics.n_queries, "seconds": r.seconds,
            } for r in result.rows],
        }, allow_nan=False))
        return
    print(f"{result.n_pictures} labelled pictures in {result.n_classes} classes\n")
    print(labeled_table(result))


def _encoders(models: list[str]) -> list[tuple[str, Embedder]]:
    from selfsim.models import load_embedder

    names = ["default", *(m for m in models if m != "default")]
    return [(name, load_embedder(name)) for name in dict.fromkeys(names)]


class _Stages:
    """One progress bar per stage, the previous one closed when the next starts."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None

    def __call__(self, text: str, steps: int) -> Callable[[int], None]:
        self.close()
        self.bar = progress(steps, text, self.quiet)
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _methods(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in METHODS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"choose from {','.join(METHODS)}, got {text!r}")
    return names


def _edits(text: str) -> tuple[str, ...]:
    from selfsim.eval.copyset import check_edit_names

    try:
        return check_edit_names([n.strip() for n in text.split(",") if n.strip()])
    except SelfsimError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1 (not included), got {text!r}")
    return value
