"""``selfsim match``: do two images show the same thing?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from selfsim.cli.common import add_common_args, positive_int, say
from selfsim.errors import SelfsimError
from selfsim.names import FEATURE_METHODS as METHODS
from selfsim.names import GEOMETRY_MODES as MODES

#: Picture formats --viz writes (those this Pillow can save are offered).
VIZ_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")

HELP = "decide whether two images show the same picture, object or scene"
EPILOG = """examples:
  selfsim match original.jpg suspect.jpg
  selfsim match a.png b.png --json
  selfsim match box.png box_in_scene.png --viz evidence.png
  selfsim match left.jpg right.jpg --mode fundamental      # two views of a 3D scene
  selfsim match a.jpg b.jpg --calibration my-calibration.json  # from `selfsim calibrate`

output:
  the verdict, a calibrated score (probability of a match), inliers, the homography
  (mapping pixels of A to pixels of B, original resolution, refined to sub-pixel
  accuracy) and the matched boxes. A left-right mirrored copy is found too, and said
  so ("mirrored"; the homography is still into B's own pixels). A pair that does not
  match as it is gets a second, slower try with simulated tilted views of A, which
  finds views at 50 to 60 degrees of tilt ("passes" says which tries ran). In
  fundamental mode, matches that all lie on one plane are judged by a homography instead.
  --json prints one object: {"match", "score", "inliers", "homography", "mirrored",
  "passes", ...}.
  Exit status is 0 whatever the verdict."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("match", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", metavar="A", help="first image")
    p.add_argument("b", metavar="B", help="second image")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--viz", metavar="PNG", help="draw both images with inliers and matched region")
    p.add_argument("--features", choices=METHODS, default="sift", help="local features (default: %(default)s)")
    p.add_argument("--mode", choices=MODES, default="homography",
                   help="geometric model: homography (flat scenes, copies) or fundamental (3D scenes) "
                   "(default: %(default)s)")
    p.add_argument("--no-affine", action="store_true",
                   help="skip the try with simulated tilted views when the pair does not match as it is "
                   "(faster on unrelated pairs, by about 0.3 s; misses strongly oblique views)")
    p.add_argument("--calibration", metavar="FILE", help="a calibration from `selfsim calibrate`")
    p.add_argument("--max-side", type=positive_int, default=1024, metavar="PX",
                   help="detect features at this longer side at most; larger is slower and more "
                   "precise on big photos (default: %(default)s)")
    p.add_argument("--global", dest="global_similarity", action="store_true",
                   help="also print the embedding similarity of the two (loads the model: slower; "
                   "the verdict does not use it)")
    p.add_argument("--no-global", action="store_true", help=argparse.SUPPRESS)  # the default now
    add_common_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from selfsim.data.reader import read_image
    from selfsim.match import Calibration, Matcher

    # What can be checked without the images is checked first, so a typo costs no work.
    if args.viz:
        check_viz_path(args.viz)
    calibration = Calibration.load(args.calibration) if args.calibration else None
    a = read_image(args.a, max_pixels=args.max_pixels)
    b = read_image(args.b, max_pixels=args.max_pixels)
    matcher = Matcher(args.features, args.mode, calibration, max_side=args.max_side,
                      max_features=max(2000, 2000 * args.max_side // 1024), affine=not args.no_affine)
    similarity = None
    if args.global_similarity:
        from selfsim.models import load_embedder

        va, vb = load_embedder("default").embed([a, b])
        similarity = float(va @ vb)
    result = matcher.match(a, b, similarity)
    if args.viz:
        from selfsim.match.draw import draw_match

        draw_match(a, b, result).save(args.viz)
    if args.json:
        print(json.dumps(result.to_json_dict(), allow_nan=False))  # never a bare NaN: not JSON
    else:
        print(f"{'MATCH' if result.match else 'NO MATCH'}  score {result.score:.3f}")
        print(f"  {result.reason}")
        print(f"  inliers {result.inliers} of {result.matches} matches, ratio {result.inlier_ratio:.2f}")
        if similarity is not None:
            print(f"  global similarity {similarity:.3f}")
        if result.homography is not None:
            print("  homography A -> B: " + "; ".join(" ".join(f"{v:.5g}" for v in row) for row in result.homography))
        if result.box_a is not None and result.box_b is not None:
            fa = ", ".join(f"{v:.0f}" for v in result.box_a)
            fb = ", ".join(f"{v:.0f}" for v in result.box_b)
            print(f"  matched region: A [{fa}]  B [{fb}]")
    if args.viz:
        say(f"wrote {args.viz}")
    return 0


def check_viz_path(path: str) -> None:
    """Refuse a --viz path that cannot be written, before any work is done."""
    from PIL import Image

    registered = Image.registered_extensions()
    allowed = [s for s in VIZ_SUFFIXES if registered.get(s) in Image.SAVE]
    out = Path(path)
    if out.suffix.lower() not in allowed:
        what = f"a '{out.suffix}' file" if out.suffix else "a file without an extension"
        raise SelfsimError(f"--viz {path}: cannot draw into {what}; use one of: {', '.join(allowed)}")
    if not out.parent.is_dir():
        raise SelfsimError(f"--viz {path}: folder not found: {out.parent}")
    if out.is_dir():
        raise SelfsimError(f"--viz {path}: is a folder; give a file name such as {out / 'match.png'}")
