"""``selfsim train``: learn an encoder from an unlabeled folder (self-supervised)."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from selfsim.cli.common import add_common_args, progress, report_skipped, say
from selfsim.names import CLEAN_MIN_SIDE as DEFAULT_MIN_SIDE
from selfsim.names import SSL_INITS as INITS
from selfsim.names import SSL_METHODS as METHODS

HELP = "learn an encoder from a folder of unlabeled images (self-supervised)"
EPILOG = """examples:
  selfsim train ~/Pictures --init default --out my-model      # adapt the default encoder
  selfsim train scans/ --init default --edits crop,jpeg,text,color,blur --out scan-model   # no flips
  selfsim train digits/ --out small-model --method vicreg      # small CNN from scratch, 32 px
  selfsim train digits/ --out small-model --resume             # continue after an interruption
  selfsim train digits/ --out small-model --epochs 20 --resume # ... or train longer
  selfsim index ~/Pictures --index pics.idx --model my-model   # then use it like any model
  selfsim train ~/Pictures --init default --out my-model --devices 4   # DDP on 4 GPUs

The folder is cleaned first: unreadable files, pictures smaller than --min-side and
exact duplicates are dropped and reported. Checkpoints are written to OUT/checkpoints
every --checkpoint-every steps; the model (OUT/model.safetensors + OUT/config.json) only
when training finishes, so a collapse or NaN never overwrites a good model.

Quality without labels: before training and about ten times during it, selfsim
reports how well the model finds edited copies (crops, rotations, JPEG, text, ...;
those of --edits when given) of up to 200 of the folder's pictures, while copies of
held-out pictures (a tenth of the folder, at most 200, none under 50 pictures) must
find nothing."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (recursive, unlabeled)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="model folder to write")
    p.add_argument("--init", choices=INITS, default="scratch",
                   help="'scratch' trains --backbone from random weights; 'default' adapts the default "
                   "encoder (EfficientNet-Lite0, already adapted for copy detection); 'imagenet' adapts "
                   "the ImageNet EfficientNet-Lite0 it was made from (default: %(default)s)")
    p.add_argument("--method", choices=METHODS, default=None,
                   help="simclr, byol, simsiam, vicreg, dino, or sscd (copy detection) "
                   "(default: simclr; sscd with --init default or imagenet)")
    p.add_argument("--backbone", default=None, help="selfsim_small_cnn (default) or a timm model name")
    p.add_argument("--input-size", type=int, default=None, help="training view size (default: 32; 224 with --init default or imagenet)")
    p.add_argument("--feature-level", type=int, default=None, metavar="N",
                   help="cut the backbone after timm feature stage N and average-pool there; mid-level "
                   "features suit small pictures (e.g. 3 with --init default: 112-d, stride 16) (default: all)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the data (default: 10; with --init default or imagenet 5, and at least 150 steps)")
    p.add_argument("--batch-size", type=int, default=None, help="(default: 256; 32 with --init default or imagenet)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: 1e-3; 1e-4 with --init default or imagenet)")
    p.add_argument("--edits", default=None, metavar="NAMES",
                   help="for --method sscd: the edits that make a copy in your pictures, comma-separated, from "
                   "blur, border, color, crop, flip, grayscale, jpeg, noise, paste, perspective, pixelate, rotate, "
                   "stretch, text (default: all; e.g. leave out flip for documents)")
    p.add_argument("--whiten", action="store_true",
                   help="after training, fit a PCA whitening of the descriptors on the folder (no labels) and "
                   "make it part of the model; helps retrieval by kind of picture (needs at least twice as "
                   "many pictures as the descriptor has dimensions)")
    p.add_argument("--checkpoint-every", type=int, default=None, metavar="STEPS", help="(default: 100)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="data-loading processes (default: 2; 0 loads in the training process)")
    p.add_argument("--seed", type=int, default=None, help="(default: 0)")
    p.add_argument("--holdout", type=int, default=None, metavar="N",
                   help="pictures kept out of training; the quality monitor checks that copies of them are not "
                   "matched (default: a tenth of the folder, at most 200; none under 50 pictures)")
    p.add_argument("--devices", type=int, default=None, metavar="N",
                   help="training processes on this machine (DDP: GPUs, or CPU processes without one); "
                   "--batch-size is per process (default: 1)")
    p.add_argument("--num-nodes", type=int, default=None, metavar="M",
                   help="machines, each running --devices processes (launch with torchrun or SLURM; see the "
                   "README) (default: 1)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoints/last.ckpt, with the settings it was started with")
    p.add_argument("--overwrite", action="store_true",
                   help="start over in an --out that already holds a training run (its checkpoint is dropped)")
    p.add_argument("--min-side", type=int, default=DEFAULT_MIN_SIDE,
                   help="drop pictures whose shorter side is smaller (default: %(default)s px)")
    add_common_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import warnings

    from selfsim.data.cleaning import clean
    from selfsim.ssl.distributed import is_main_process
    from selfsim.ssl.resume import check_out
    from selfsim.ssl.train import CHECKPOINTS, CLEAN_CACHE, LAST_CHECKPOINT, TrainConfig, train

    # Lightning's own tips and deprecation notices are not for selfsim's users.
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING if not args.verbose else logging.INFO)
    warnings.filterwarnings("ignore", module="pytorch_lightning")

    cfg = TrainConfig.for_init(
        args.init, method=args.method, backbone=args.backbone, input_size=args.input_size, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, checkpoint_every=args.checkpoint_every, seed=args.seed,
        holdout=args.holdout, feature_level=args.feature_level, workers=args.workers,
        whiten=args.whiten or None, devices=args.devices, num_nodes=args.num_nodes, copy_edits=tuple(e.strip() for e in args.edits.split(",") if e.strip()) if args.edits else None,
    )
    cfg.check()  # a typo is reported before the folder is read
    out = Path(args.out)
    main = is_main_process()  # DDP: the other processes run this command too, silently
    if not main:
        args.quiet = True
    else:
        check_out(out, out / CHECKPOINTS / LAST_CHECKPOINT, resume=args.resume, overwrite=args.overwrite)
    bars = []

    def on_plan(n: int) -> None:
        bars.append(progress(n, "checking images", args.quiet))

    data = clean(args.paths, min_side=args.min_side, max_pixels=args.max_pixels, on_plan=on_plan,
                 on_progress=lambda k: bars[0].update(k), cache=out / CHECKPOINTS / CLEAN_CACHE)
    for bar in bars:
        bar.close()
    report_skipped([(d.path, d.reason) for d in data.dropped], args.quiet)
    from tqdm import tqdm

    from selfsim.eval.probe import CopyRetrievalProbe

    probe = partial(CopyRetrievalProbe, seed=cfg.seed, side=max(2 * cfg.input_size, 64), edits=cfg.copy_edits)
    result = train(cfg, data, out, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet,
                   probe=probe, on_quality=lambda q: tqdm.write(str(q), file=sys.stderr),
                   on_message=say if main else None)
    if not main:
        return 0
    say(f"wrote {result.out}: {result.steps} step{'' if result.steps == 1 else 's'} ({result.steps_this_run} in this run, "
        f"{result.seconds / 60:.1f} min, {result.images_per_second:.0f} images/s)")
    say(f"next: selfsim index FOLDER --index INDEX --model {result.out}; on a CPU, "
        f"'selfsim export {result.out} --onnx' and --model {result.out / 'model.onnx'} index about 3 times as fast")
    return 0
