"""Training throughput: images/s of one optimisation step, per method and backbone.

Each step embeds two views of a batch, computes the method's loss and updates the
weights, as `selfsim train` does (the same SSLModule); data loading is left out,
so the numbers are the model's ceiling. Runs on the GPU when there is one (mixed
precision, as training does), else on the CPU with all its cores.

    python benchmarks/train_speed.py [--steps 3] [--methods sscd,simclr]
"""

from __future__ import annotations

import argparse
import time

import torch

from selfsim.ssl.module import SSLModule
from selfsim.ssl.names import METHODS
from selfsim.ssl.train import TrainConfig, _encoder

# (label, TrainConfig overrides, batch size, methods)
CASES = [
    ("small CNN, 32 px (scratch)", {"input_size": 32}, 256, METHODS),
    ("EfficientNet-Lite0 cut at level 3, 64 px (--init default)",
     {"init": "default", "input_size": 64, "feature_level": 3, "freeze_bn": True}, 128, METHODS),
    ("EfficientNet-Lite0, 224 px (--init default)", {"init": "default", "input_size": 224, "freeze_bn": True}, 32,
     ("sscd",)),
    ("ResNet-18, 224 px (scratch)", {"backbone": "resnet18", "input_size": 224}, 32, ("sscd",)),
    ("ResNet-50, 224 px (scratch)", {"backbone": "resnet50", "input_size": 224}, 32, ("sscd",)),
    ("ViT-S/16, 224 px (scratch)", {"backbone": "vit_small_patch16_224", "input_size": 224}, 32, ("sscd",)),
]


def images_per_second(cfg: TrainConfig, batch: int, steps: int, device: torch.device) -> float:
    module = SSLModule(_encoder(cfg), cfg.method, 1e-4, 1e-4, max_steps=100, freeze_bn=cfg.freeze_bn).to(device)
    opt = module.configure_optimizers()["optimizer"]
    x = torch.randn(batch, 3, cfg.input_size, cfg.input_size, device=device)
    amp = torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda")
    for i in range(steps + 1):
        if i == 1:  # the first step warms up allocators and kernels
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        module.train()
        with amp:
            loss = module.training_step((x, x.flip(3)), i)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: all)")
    args = ap.parse_args()
    chosen = args.methods.split(",")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}\n")
    print("| backbone | batch | " + " | ".join(METHODS) + " |")
    print("|---|---:|" + "---:|" * len(METHODS))
    for label, overrides, batch, methods in CASES:
        cells = []
        for method in METHODS:
            if method not in methods or method not in chosen:
                cells.append("")
                continue
            cfg = TrainConfig(**{**overrides, "method": method})  # type: ignore[arg-type]
            cells.append(f"{images_per_second(cfg, batch, args.steps, device):.0f}")
        print(f"| {label} | {batch} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
