"""Commands import only what they use: --help and match answer without PyTorch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "fixtures"
HEAVY = ("torch", "torchvision", "timm", "lightly", "pytorch_lightning", "faiss", "cv2", "numpy", "PIL",
         "onnxruntime", "fastapi", "uvicorn")


def loaded_after(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; which heavy packages it loaded, and what it printed."""
    probe = (f"import sys, io, contextlib, json\nout = io.StringIO()\nwith contextlib.redirect_stdout(out):\n"
             f"    {code}\n"
             f"print(json.dumps({{'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules), "
             f"'out': out.getvalue()}}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_of_every_command_loads_no_library() -> None:
    from selfsim.cli.main import build_parser

    commands = list(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert {"index", "search", "match", "serve", "train"} <= set(commands)
    for command in ["", *commands]:
        argv = [command, "--help"] if command else ["--help"]
        result = loaded_after(f"from selfsim.cli.main import main\n    try:\n        main({argv!r})\n"
                              f"    except SystemExit:\n        pass")
        assert result["heavy"] == [], (command, result["heavy"])
        assert "usage: selfsim" in str(result["out"])


def test_import_selfsim_is_light_and_its_names_still_work() -> None:
    assert loaded_after("import selfsim")["heavy"] == []
    import selfsim

    assert selfsim.Index.__name__ == "Index" and callable(selfsim.read_image)
    assert "Searcher" in dir(selfsim)


def test_match_runs_without_pytorch() -> None:
    a, b = FIXTURES / "baboon.jpg", FIXTURES / "orange.jpg"
    result = loaded_after(f"from selfsim.cli.main import main\n    main(['match', {str(a)!r}, {str(b)!r}, '--json'])")
    assert "torch" not in result["heavy"] and "cv2" in result["heavy"]
    verdict = json.loads(str(result["out"]))
    assert verdict["match"] is False and verdict["global_similarity"] is None
