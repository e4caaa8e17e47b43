"""``selfsim calibrate``: fit the match threshold on your own pictures."""

from __future__ import annotations

import argparse

from selfsim.cli.common import add_common_args, progress, report_skipped, say
from selfsim.errors import ImageReadError, NoImagesError
from selfsim.names import FEATURE_METHODS as METHODS

HELP = "fit the match verdict's threshold on edited copies of your own pictures"
EPILOG = """examples:
  selfsim calibrate ~/Pictures --out my-calibration.json
  selfsim match a.jpg b.jpg --calibration my-calibration.json

Each picture gets edited copies (crops, rotations, JPEG, text, pasting, ...) as
positive pairs; pairs of different pictures are the negatives. The threshold is set
just above the most convincing negative, and the precision and recall reached on
these pairs are printed (the operating point)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="calibration file to write (JSON)")
    p.add_argument("--features", choices=METHODS, default="sift", help="local features (default: %(default)s)")
    p.add_argument("--max-images", type=int, default=100, help="pictures used at most (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed for the edits (default: %(default)s)")
    add_common_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from selfsim.data.files import find_images
    from selfsim.data.reader import read_image
    from selfsim.match import Matcher
    from selfsim.match.fit import calibrate

    files, _ = find_images(args.paths)
    images, skipped = [], []
    for f in files[: args.max_images]:
        try:
            img = read_image(f, min_side=1024, max_pixels=args.max_pixels)
            img.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
            images.append(img)
        except ImageReadError as e:
            skipped.append((str(f), e.reason))
    report_skipped(skipped, args.quiet)
    if len(images) < 3:
        raise NoImagesError(f"calibration needs at least 3 readable pictures, found {len(images)}")
    bar = progress(len(images) * 2 * 3, "matching pairs", args.quiet)
    cal = calibrate(images, Matcher(args.features), seed=args.seed, source=", ".join(args.paths),
                    on_pair=lambda: bar.update(1))
    bar.close()
    cal.save(args.out)
    say(f"wrote {args.out}: threshold {cal.threshold:.3f}, precision {cal.precision:.3f}, "
        f"recall {cal.recall:.3f} on {cal.n_positive} copies and {cal.n_negative} different pairs")
    return 0
