"""ONNX export, and an encoder that runs the exported file with onnxruntime.

The exported graph is :meth:`Encoder.forward`: normalised pixels (B, 3, S, S) in,
unit vectors (B, D) out, with a dynamic batch axis. Preprocessing (resize to S x S,
mean/std) stays outside the graph and is described by ``config.json``, written
beside the ``.onnx`` file, so that any runtime can reproduce it;
:class:`OnnxEncoder` does exactly what :class:`Encoder` does.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from selfsim.data.files import file_sha256
from selfsim.errors import ModelError
from selfsim.models.config import EncoderConfig
from selfsim.models.embedder import fingerprint_of
from selfsim.models.pixels import stack_pixels, to_pixels

if TYPE_CHECKING:
    from selfsim.models.encoder import Encoder

#: ONNX operator set; onnxruntime has supported it since 1.14.
OPSET = 18
INPUT, OUTPUT = "pixels", "embedding"


def export_onnx(encoder: Encoder, out: str | os.PathLike[str]) -> Path:
    """Write ``encoder`` as an ONNX file and its ``config.json`` beside it.

    Args:
        out: the ``.onnx`` file to write; ``out.with_suffix('.json')`` gets the config.

    Raises:
        ModelError: the ``onnx``/``onnxscript`` packages are missing, or export failed.
    """
    import torch

    try:
        import onnxscript  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise ModelError("ONNX export needs the onnx extras: pip install 'selfsim[onnx]'") from None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(encoder).cpu().eval()  # the caller's encoder keeps its device and mode
    s = encoder.config.input_size
    example = torch.zeros(2, 3, s, s)
    tmp = out.with_name(out.name + ".part")
    try:
        # The exporter narrates each stage on stdout, which carries only data in selfsim.
        with contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(
                model, (example,), str(tmp), input_names=[INPUT], output_names=[OUTPUT],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=65536)},),
                opset_version=OPSET, dynamo=True, external_data=False, verbose=False,
            )
    except Exception as e:  # the exporter raises many kinds; the user needs one line
        tmp.unlink(missing_ok=True)
        raise ModelError(f"ONNX export of {encoder.config.backbone} failed: {type(e).__name__}: {e}") from None
    _strip_node_metadata(tmp)
    os.replace(tmp, out)
    out.with_suffix(".json").write_text(encoder.config.to_json() + "\n")
    return out


def _strip_node_metadata(path: Path) -> None:
    """Drop the exporter's per-node notes (Python stack traces with this machine's file
    paths, module names): the graph and weights stay, and the same model exported from
    any checkout is the same file, byte for byte (its fingerprint is the file's hash)."""
    import onnx

    model = onnx.load(str(path))
    for graph_nodes in [model.graph.node, *(f.node for f in model.functions)]:
        for node in graph_nodes:
            del node.metadata_props[:]
            node.doc_string = ""
    onnx.save(model, str(path))


class OnnxEncoder:
    """Embeds decoded images with an exported ``.onnx`` file, on CPU, without PyTorch.

    It serves everywhere a model does (``selfsim index/search --model x.onnx``): it
    has the :class:`~selfsim.models.embedder.Embedder` interface. Its fingerprint
    is its own (the ONNX file's hash): vectors agree with PyTorch's to a cosine above
    0.999, not bit for bit, so an index built with one is not searched with the other.

    Args:
        path: the ``.onnx`` file; its ``.json`` config must sit beside it.
        threads: onnxruntime intra-op threads (0: onnxruntime's default).
        spec: how an index records the model (default: the file's path).
    """

    def __init__(self, path: str | os.PathLike[str], threads: int = 0,
                 spec: dict[str, str | None] | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError("running ONNX models needs onnxruntime: pip install 'selfsim[onnx]'") from None
        path = Path(path)
        cfg = path.with_suffix(".json")
        if not path.is_file() or not cfg.is_file():
            raise ModelError(f"{path}: expected an .onnx file with its .json config beside it")
        self.config = EncoderConfig.load(cfg)  # one-line ModelError naming the file if it is bad
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for broken files
            raise ModelError(f"{path}: not a loadable ONNX model ({type(e).__name__})") from None
        self.weights_sha256 = file_sha256(path)
        self.spec: dict[str, str | None] = spec or {"model": str(path.resolve()), "weights": None}
        s = self.config.input_size
        self._dim = int(self.embed_pixels(np.zeros((1, 3, s, s), np.float32)).shape[1])

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.config, self.weights_sha256)

    @property
    def dim(self) -> int:
        return self._dim

    def eval(self) -> OnnxEncoder:
        return self  # nothing to switch: the graph is exported in eval mode

    def pixels(self, image: Image.Image) -> np.ndarray:
        """One RGB image -> float32 (3, S, S), as :meth:`Encoder.pixels`."""
        return to_pixels(image, self.config)

    def embed_pixels(self, x: np.ndarray) -> np.ndarray:
        """(B, 3, S, S) normalised pixels -> float32 (B, D) unit vectors."""
        out = self.session.run([OUTPUT], {INPUT: np.ascontiguousarray(x, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)

    def embed(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """float32 (N, D) unit vectors, as :meth:`Encoder.embed` returns."""
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for i in range(0, len(images), batch_size):
            chunk = list(images[i : i + batch_size])
            out[i : i + len(chunk)] = self.embed_pixels(stack_pixels(chunk, self.config))
        return out
