"""``selfsim serve``: an HTTP API and a search page over an index."""

from __future__ import annotations

import argparse
import os
import signal

from selfsim.cli.common import display_path, positive_int, say
from selfsim.errors import SelfsimError

HELP = "serve an index over HTTP: a search page, and an API for your own programs"
EPILOG = """examples:
  selfsim serve --index pics.idx                      # then open http://127.0.0.1:8000
  selfsim serve --index pics.idx --port 9000 --host 0.0.0.0
  SELFSIM_TOKEN=s3cret selfsim serve --index pics.idx # allow adding and deleting images

API (OpenAPI at /docs):
  curl -F image=@query.jpg 'http://127.0.0.1:8000/v1/search?k=5'
  curl -F a=@original.jpg -F b=@suspect.jpg http://127.0.0.1:8000/v1/match
  curl -H "Authorization: Bearer s3cret" -F files=@new.jpg http://127.0.0.1:8000/v1/images

Without a token the server is read-only and sees what `selfsim index` adds meanwhile.
With a token it holds the index for writing (run `selfsim index` on it after stopping
the server); added pictures are stored in --uploads under names made from their
content. Searches beyond --slots wait (at most --queue of them); more get 503 with
Retry-After."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", "-i", required=True, metavar="DIR", help="index folder or Milvus address (from `selfsim index`)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 for every network (default: %(default)s)")
    p.add_argument("--port", type=port_number, default=8000, help="(default: %(default)s)")
    p.add_argument("--token", default=None,
                   help="bearer token that allows adding and deleting images (default: $SELFSIM_TOKEN; "
                   "none: read-only). The variable keeps it out of `ps`")
    p.add_argument("--uploads", metavar="DIR", help="where added pictures are stored (default: INDEX/uploads)")
    p.add_argument("--max-upload-mb", type=positive_int, default=32, metavar="MB",
                   help="largest request body (default: %(default)s)")
    p.add_argument("--max-pixels", type=positive_int, default=50_000_000,
                   help="largest picture accepted, checked before decoding (default: %(default)s)")
    p.add_argument("--slots", type=positive_int, default=2,
                   help="searches computed at once; about the number of cores (default: %(default)s)")
    p.add_argument("--queue", type=positive_int, default=64,
                   help="requests waiting for a slot before 503 (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no access log")
    p.set_defaults(run=run)


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return value


def _check_can_listen(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(address)
    except OSError as e:
        hint = "; is a server running there already? Choose another --port" if port else ""
        raise SelfsimError(f"cannot listen on {host}:{port}: {e.strerror or e}{hint}") from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from selfsim.serve.app import create_app
    from selfsim.serve.limits import Limits
    from selfsim.serve.service import Service

    token = args.token if args.token is not None else os.environ.get("SELFSIM_TOKEN")
    if token is not None and len(token.strip()) < 8:
        raise SelfsimError("the token must be at least 8 characters (use a long random string)")
    _check_can_listen(args.host, args.port)  # before the model loads
    limits = Limits(max_body_bytes=args.max_upload_mb * 2**20, max_pixels=args.max_pixels,
                    slots=args.slots, queue=args.queue)
    service = Service(args.index, token=token.strip() if token else None, uploads=args.uploads, limits=limits)
    try:
        app = create_app(service)
        host = f"[{args.host}]" if ":" in args.host else args.host
        mode = "adds and deletes allowed with the token" if service.writable else "read-only"
        say(f"serving {display_path(args.index)} ({len(service.index)} images, {mode}) "
            f"on http://{host}:{args.port}  (API docs: /docs; Ctrl-C stops)")
        # uvicorn closes connections on SIGTERM, then raises it again: end as on Ctrl-C, saving.
        signal.signal(signal.SIGTERM, _interrupt)
        # Everything is loaded before the server starts: no lifespan events are needed.
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info",
                    lifespan="off",
                    access_log=not args.quiet, timeout_graceful_shutdown=5)
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once its connections are closed
        pass
    finally:
        service.close()
    say("stopped")
    return 0
