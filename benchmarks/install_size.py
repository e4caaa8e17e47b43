"""Install size and time: the inference-only install against the full one.

Makes fresh virtual environments in a temporary folder and times, in each:
- `pip install .` (onnxruntime; no PyTorch), then checks that torch is absent and that
  `selfsim index`, `search` and `match` run on two real pictures;
- `pip install '.[train]'` (PyTorch, torchvision, timm, lightly, Lightning).
It prints the size of each environment and the largest packages of the first.
Pip's cache is kept (as a user's second install would find it); wheels are built fresh.

    python benchmarks/install_size.py [--skip-train]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def install(env: Path, spec: str) -> float:
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    t0 = time.perf_counter()
    subprocess.run([*pip, spec], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def smoke(env: Path, work: Path) -> list[str]:
    """What works in ``env``: index, search and match on real pictures, torch absent."""
    from selfsim.data.samples import opencv_data

    data = opencv_data()
    pics = work / "pics"
    pics.mkdir()
    for name in ("graf1.png", "graf3.png", "box.png", "box_in_scene.png", "baboon.jpg"):
        shutil.copy(data / name, pics / name)
    exe = str(env / "bin" / "selfsim")
    ok = []
    runs = {
        "index": [exe, "index", str(pics), "--index", str(work / "idx"), "-q"],
        "search": [exe, "search", "--index", str(work / "idx"), str(pics / "baboon.jpg"), "-k", "1"],
        "match": [exe, "match", str(pics / "box.png"), str(pics / "box_in_scene.png")],
    }
    for name, argv in runs.items():
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        ok.append(f"{name} {'ok' if out.returncode == 0 else 'FAILED: ' + out.stderr.strip()[-200:]}")
    torch = subprocess.run([str(env / "bin" / "python"), "-c", "import torch"], capture_output=True)
    ok.append("torch absent" if torch.returncode != 0 else "torch INSTALLED")
    return ok


def largest(env: Path, n: int = 6) -> list[tuple[str, int]]:
    site = next((env / "lib").glob("python*/site-packages"))
    sizes = [(p.name, size(p)) for p in site.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")]
    return sorted(sizes, key=lambda t: -t[1])[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-train", action="store_true", help="only the inference install")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="install-size-") as tmp:
        work = Path(tmp)
        env = work / "inference"
        seconds = install(env, ".")
        checks = smoke(env, work)
        rows.append(("`pip install .`", size(env), seconds, ", ".join(checks)))
        big = largest(env)
        shutil.rmtree(env)
        if not args.skip_train:
            env = work / "train"
            seconds = install(env, ".[train]")
            rows.append(("`pip install '.[train]'`", size(env), seconds, "also train and export"))
    print(f"Python {sys.version.split()[0]}\n")
    print("| install | size of the environment | time | checked |\n|---|---:|---:|---|")
    for name, nbytes, seconds, what in rows:
        print(f"| {name} | {nbytes / 1e6:,.0f} MB | {seconds:.1f} s | {what} |")
    print("\nLargest packages of the inference install: "
          + ", ".join(f"{name} {nbytes / 1e6:.0f} MB" for name, nbytes in big))


if __name__ == "__main__":
    main()
