"""selfsim: self-supervised image retrieval and matching.

The Python API mirrors the CLI::

    import selfsim
    encoder = selfsim.load_encoder("default")
    with selfsim.Index.create("pics.idx", selfsim.model_ref(encoder)) as index:
        report = selfsim.sync(index, encoder, ["~/Pictures"])
    with selfsim.Index.open("pics.idx") as index:
        for result in selfsim.Searcher(index, encoder).search_paths(["query.jpg"], k=5):
            print(result.query, result.hits[0].path, result.hits[0].score)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfsim.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "read_image": "selfsim.data",
    "ImageReadError": "selfsim.errors",
    "IndexStateError": "selfsim.errors",
    "ModelError": "selfsim.errors",
    "SelfsimError": "selfsim.errors",
    "Index": "selfsim.index",
    "SyncReport": "selfsim.index",
    "sync": "selfsim.index",
    "Encoder": "selfsim.models",
    "EncoderConfig": "selfsim.models",
    "load_encoder": "selfsim.models",
    "save_encoder": "selfsim.models",
    "QueryResult": "selfsim.search",
    "Searcher": "selfsim.search",
    "SearchHit": "selfsim.search",
    "model_ref": "selfsim.search",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from selfsim.data import read_image
    from selfsim.errors import ImageReadError, IndexStateError, ModelError, SelfsimError
    from selfsim.index import Index, SyncReport, sync
    from selfsim.models import Encoder, EncoderConfig, load_encoder, save_encoder
    from selfsim.search import QueryResult, Searcher, SearchHit, model_ref

__all__ = ["Encoder", "EncoderConfig", "ImageReadError", "Index", "IndexStateError", "load_encoder", "model_ref", "ModelError", "QueryResult", "read_image", "save_encoder", "Searcher", "SearchHit", "SelfsimError", "sync", "SyncReport", "__version__"]
