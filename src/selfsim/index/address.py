"""Where an index lives: a folder (the default), or a Milvus collection.

``--index`` takes either a folder, or one of::

    milvus://HOST:PORT/COLLECTION          a Milvus server (milvus+https:// over TLS)
    milvus-lite:///abs/path/pics.db        a local Milvus Lite file (collection ``images``)
    milvus-lite://pics.db?collection=NAME  relative to the working folder, another collection

Milvus-specific choices are query parameters, with defaults that suit most collections:

``index``
    the Milvus index type: ``AUTOINDEX`` (a server's default), ``HNSW``, ``IVF_PQ``,
    ``DISKANN`` or ``FLAT`` (Milvus Lite's default: exact search).
``consistency``
    ``Strong`` (default: a search sees every write before it), ``Bounded``,
    ``Session`` or ``Eventually``.
``batch``
    rows per insert request (default 1000).

A server's credentials come from ``SELFSIM_MILVUS_TOKEN`` (``user:password`` or an
API key) or from the address (``milvus://user:password@HOST:PORT/COLLECTION``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from selfsim.errors import SelfsimError

SCHEMES = ("milvus://", "milvus+https://", "milvus-lite://")
INDEX_TYPES = ("AUTOINDEX", "FLAT", "HNSW", "IVF_FLAT", "IVF_PQ", "DISKANN")
CONSISTENCY_LEVELS = ("Strong", "Bounded", "Session", "Eventually")
DEFAULT_COLLECTION = "images"
DEFAULT_BATCH = 1000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


def is_milvus(location: str | os.PathLike[str]) -> bool:
    """Whether an ``--index`` value names a Milvus collection rather than a folder."""
    return isinstance(location, str) and location.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class MilvusAddress:
    """A parsed Milvus ``--index`` value.

    Attributes:
        uri: what ``pymilvus.MilvusClient`` connects to (a server URL or a Lite file).
        collection: the collection's name.
        lite: a Milvus Lite file, not a server.
        token: credentials for a server ("" when none).
        index_type, consistency, batch: the options above.
        text: the address as given, without credentials (for messages).
    """

    uri: str
    collection: str
    lite: bool
    token: str
    index_type: str
    consistency: str
    batch: int
    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def where(self) -> str:
        """The server or file, for messages."""
        return self.uri if self.lite else self.uri.split("://", 1)[-1]


def parse_address(location: str) -> MilvusAddress:
    """Parse a Milvus ``--index`` value.

    Raises:
        SelfsimError: the address is malformed (one line, with the expected form).
    """
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    lite = scheme == "milvus-lite"
    if lite:
        raw = location.split("://", 1)[1].split("?", 1)[0]
        if not raw or raw.endswith("/"):
            raise SelfsimError(f"{location}: give a Milvus Lite file, e.g. milvus-lite:///home/me/pics.db")
        file = Path(unquote(raw)).expanduser()
        if file.suffix != ".db":
            raise SelfsimError(f"{location}: a Milvus Lite file name must end in .db (e.g. pics.db)")
        uri = str(file.absolute())
        collection = query.pop("collection", DEFAULT_COLLECTION)
        token = ""
        text = location
    else:
        if not parts.hostname:
            raise SelfsimError(f"{location}: give a server and a collection, e.g. milvus://localhost:19530/images")
        try:
            port = parts.port or 19530
        except ValueError:
            raise SelfsimError(f"{location}: the port is not a number") from None
        collection = parts.path.strip("/") or query.pop("collection", DEFAULT_COLLECTION)
        query.pop("collection", None)
        uri = f"{'https' if scheme == 'milvus+https' else 'http'}://{parts.hostname}:{port}"
        token = os.environ.get("SELFSIM_MILVUS_TOKEN", "")
        if parts.username:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        text = f"{scheme}://{parts.hostname}:{port}/{collection}"
    if not _NAME.fullmatch(collection):
        raise SelfsimError(f"{location}: '{collection}' is not a Milvus collection name (letters, digits and _, "
                           f"starting with a letter or _)")
    index_type = query.pop("index", "FLAT" if lite else "AUTOINDEX").upper()
    if index_type not in INDEX_TYPES:
        raise SelfsimError(f"{location}: index={index_type} is not one of {', '.join(INDEX_TYPES)}")
    consistency = query.pop("consistency", "Strong").capitalize()
    if consistency not in CONSISTENCY_LEVELS:
        raise SelfsimError(f"{location}: consistency={consistency} is not one of {', '.join(CONSISTENCY_LEVELS)}")
    try:
        batch = int(query.pop("batch", DEFAULT_BATCH))
    except ValueError:
        raise SelfsimError(f"{location}: batch must be a number of rows") from None
    if batch < 1:
        raise SelfsimError(f"{location}: batch must be at least 1")
    if query:
        raise SelfsimError(f"{location}: unknown option {sorted(query)[0]!r}; the options are index, "
                           f"consistency, batch" + (", collection" if lite else ""))
    return MilvusAddress(uri, collection, lite, token, index_type, consistency, batch, text)


def with_collection(location: str, collection: str) -> str:
    """The same Milvus address as ``location`` (credentials and options kept), for
    another collection."""
    head, _, query = location.partition("?")
    options = [part for part in query.split("&") if part and not part.startswith("collection=")]
    if parse_address(location).lite:
        return f"{head}?{'&'.join([f'collection={collection}', *options])}"
    scheme, rest = head.split("://", 1)
    server = rest.split("/", 1)[0]
    return f"{scheme}://{server}/{collection}" + (f"?{'&'.join(options)}" if options else "")


__all__ = ["CONSISTENCY_LEVELS", "INDEX_TYPES", "MilvusAddress", "SCHEMES", "is_milvus", "parse_address",
           "with_collection"]
