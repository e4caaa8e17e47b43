"""``selfsim`` from the source tree, for scripts/gpu/run.sh (with BLOCK=1: block.py first)."""

import os
import sys

if os.environ.get("BLOCK"):
    sys.path.insert(0, os.path.dirname(__file__))
    import block  # noqa: F401

from selfsim.cli.main import main  # noqa: E402

sys.argv[0] = "selfsim"
sys.exit(main())
