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

__version__ = "0.1.0"

from selfsim.data import read_image
from selfsim.errors import ImageReadError, IndexStateError, ModelError, SelfsimError
from selfsim.index import Index, SyncReport, sync
from selfsim.models import Encoder, EncoderConfig, load_encoder, save_encoder
from selfsim.search import QueryResult, Searcher, SearchHit, model_ref

__all__ = [
    "Encoder",
    "EncoderConfig",
    "ImageReadError",
    "Index",
    "IndexStateError",
    "ModelError",
    "QueryResult",
    "SearchHit",
    "Searcher",
    "SelfsimError",
    "SyncReport",
    "__version__",
    "load_encoder",
    "model_ref",
    "read_image",
    "save_encoder",
    "sync",
]
