"""``selfsim export``: write a model in a format other runtimes load (ONNX)."""

from __future__ import annotations

import argparse
from pathlib import Path

from selfsim.cli.common import say

HELP = "export a model for other runtimes (ONNX, for CPU inference with onnxruntime)"
EPILOG = """examples:
  selfsim export my-model --onnx                  # writes my-model/model.onnx (+ model.json)
  selfsim export default --onnx --out lite0.onnx  # the built-in encoder

The graph takes normalised pixels (batch, 3, S, S) and returns unit vectors (batch, D);
the .json beside it gives S, the mean and std. In Python:
  from selfsim.models.onnx import OnnxEncoder
  vectors = OnnxEncoder("my-model/model.onnx").embed([pil_image])"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help="'default', a selfsim model folder, or a timm name with --weights")
    p.add_argument("--onnx", action="store_true", required=True, help="export to ONNX (the only format for now)")
    p.add_argument("--out", "-o", metavar="FILE", help="the .onnx file (default: MODEL/model.onnx for a model "
                   "folder, else MODEL.onnx here)")
    p.add_argument("--weights", help="local .safetensors/.pth weights for a timm model name")
    p.set_defaults(run=run)


def default_out(model: str) -> Path:
    folder = Path(model)
    if folder.is_dir():
        return folder / "model.onnx"
    if folder.is_file():
        return folder.parent / "model.onnx"
    return Path(f"{model}.onnx")


def run(args: argparse.Namespace) -> int:
    from selfsim.models import load_encoder
    from selfsim.models.onnx import export_onnx

    encoder = load_encoder(args.model, weights=args.weights, device="cpu")
    out = Path(args.out) if args.out else default_out(args.model)
    say(f"exporting {encoder.config.name} ({encoder.config.backbone}, {encoder.config.input_size} px) to ONNX ...")
    export_onnx(encoder, out)
    say(f"wrote {out} and {out.with_suffix('.json')}")
    print(out)
    return 0
