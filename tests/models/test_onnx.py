"""ONNX export: the exported default encoder embeds real photos as PyTorch does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from selfsim.cli.main import main
from selfsim.errors import ModelError

FIXTURES = Path(__file__).parents[1] / "fixtures"

pytest.importorskip("onnxruntime")


@pytest.mark.slow
def test_exported_default_encoder_agrees_with_pytorch(tmp_path: Path, encoder, photo_dir: Path, capsys,
                                                      monkeypatch) -> None:
    from selfsim.models.onnx import OnnxEncoder

    out = tmp_path / "lite0.onnx"
    assert main(["export", "default", "--onnx", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)  # stdout: only the path
    assert out.with_suffix(".json").is_file()

    photos = [Image.open(FIXTURES / n).convert("RGB") for n in ("baboon.jpg", "orange.jpg")]
    photos.append(photos[0].transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((123, 77)))
    a = OnnxEncoder(out).embed(photos, batch_size=2)  # batches of 2 and 1: the batch axis is dynamic
    b = encoder.embed(photos)
    assert a.shape == b.shape == (3, 1280)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.999
    # and it still tells the photos apart
    assert float(a[0] @ a[1]) < 0.9

    # index and search run it too, and the index remembers it
    idx = tmp_path / "idx"
    assert main(["index", str(photo_dir), "--index", str(idx), "--model", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["search", "--index", str(idx), str(photo_dir / "orange.jpg"), "--json", "-k", "2", "-q"]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert Path(hit["path"]).name == "orange.jpg" and hit["similarity"] > 0.95
    # the shipped default is this very graph: the same fingerprint
    assert main(["search", "--index", str(idx), str(photo_dir / "orange.jpg"), "--model", "default", "-q"]) == 0
    capsys.readouterr()
    # vectors from PyTorch are close, not identical: the index refuses to mix them
    monkeypatch.setenv("SELFSIM_RUNTIME", "torch")
    assert main(["search", "--index", str(idx), str(photo_dir / "orange.jpg"), "--model", "default", "-q"]) == 1
    assert "model" in capsys.readouterr().err


def test_onnx_file_without_its_config_is_refused(tmp_path: Path) -> None:
    from selfsim.models.onnx import OnnxEncoder

    (tmp_path / "m.onnx").write_bytes(b"not really")
    with pytest.raises(ModelError, match="json config beside it"):
        OnnxEncoder(tmp_path / "m.onnx")


def test_export_leaves_the_callers_encoder_as_it_was(tmp_path: Path) -> None:
    from selfsim.models.onnx import OnnxEncoder, export_onnx
    from selfsim.ssl.train import TrainConfig, _encoder

    enc = _encoder(TrainConfig(input_size=32)).train()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    export_onnx(enc, tmp_path / "small.onnx")
    assert enc.training  # not switched to eval mode behind the caller's back
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())
    pics = [Image.open(FIXTURES / "baboon.jpg").convert("RGB")]
    assert float((OnnxEncoder(tmp_path / "small.onnx").embed(pics) * enc.eval().embed(pics)).sum()) > 0.999


def test_onnx_files_are_for_indexing_and_search_only(tmp_path: Path) -> None:
    from selfsim.models import load_embedder, load_encoder

    with pytest.raises(ModelError, match="ONNX model not found"):
        load_embedder(str(tmp_path / "missing.onnx"))
    with pytest.raises(ModelError, match="is an ONNX export: it can index and search"):
        load_encoder(str(tmp_path / "m.onnx"))
    (tmp_path / "m.onnx").write_bytes(b"not onnx")
    (tmp_path / "m.json").write_text('{"backbone": "tf_efficientnet_lite0"}')
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        load_embedder(str(tmp_path / "m.onnx"))


def test_a_whitened_model_exports_with_its_whitening(tmp_path: Path) -> None:
    from dataclasses import replace

    from selfsim.models.encoder import Encoder
    from selfsim.models.onnx import OnnxEncoder, export_onnx
    from selfsim.models.whitening import Whitening
    from selfsim.ssl.train import TrainConfig, _encoder

    enc = _encoder(TrainConfig(input_size=32)).eval()
    with torch.no_grad():
        w = Whitening.fit(enc.pooled(torch.randn(600, 3, 32, 32)).numpy(), dim=16)
    whitened = Encoder(replace(enc.config, whitening=16), enc.backbone, "trained", whitening=w)
    export_onnx(whitened, tmp_path / "w.onnx")
    onnx_enc = OnnxEncoder(tmp_path / "w.onnx")
    pics = [Image.open(FIXTURES / n).convert("RGB") for n in ("baboon.jpg", "orange.jpg")]
    a, b = onnx_enc.embed(pics), whitened.embed(pics)
    assert onnx_enc.dim == 16 and a.shape == b.shape == (2, 16)
    assert float((a * b).sum(1).min()) > 0.999


BAD_CONFIGS = [
    (b'{"backbone": "tf_efficientnet_lite0",', "not valid JSON"),
    (b"\xff\xfe{\x00}\x00", "not UTF-8"),
    (b"[" * 200_000, "nested too deeply"),
    (b'["tf_efficientnet_lite0"]', "must be a JSON object, found an array"),
    (b'{"input_size": 224}', "no 'backbone' key"),
    (b'{"backbone": "tf_efficientnet_lite0", "input_size": "224"}', 'input_size must be a whole number in 32..1024, got "224"'),
    (b'{"backbone": "tf_efficientnet_lite0", "std": [0.5, 0, 0.5]}', "std must be 3 finite numbers > 0"),
    (b'{"backbone": "tf_efficientnet_lite0", "mean": [NaN, 0, 0]}', "mean must be 3 finite numbers"),
]


@pytest.mark.parametrize("content,message", BAD_CONFIGS, ids=[m[:30] for _, m in BAD_CONFIGS])
def test_a_bad_onnx_config_is_one_line_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    from selfsim.models import load_embedder

    (tmp_path / "m.onnx").write_bytes(b"never read: the config is refused first")
    (tmp_path / "m.json").write_bytes(content)
    with pytest.raises(ModelError) as e:
        load_embedder(str(tmp_path / "m.onnx"))
    text = str(e.value)
    assert text.startswith(f"{tmp_path / 'm.json'}: ") and message in text and "\n" not in text


def test_an_onnx_model_indexes_searches_and_dedups_without_pytorch(tmp_path: Path, photo_dir: Path) -> None:
    """The whole path for an .onnx model runs with PyTorch made unimportable."""
    import os
    import subprocess
    import sys

    from selfsim.models.onnx import export_onnx
    from selfsim.ssl.train import TrainConfig, _encoder

    model = export_onnx(_encoder(TrainConfig(input_size=64)).eval(), tmp_path / "small.onnx")
    idx = tmp_path / "idx"

    def selfsim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        code = ("import sys\nfor name in ('torch', 'torchvision', 'timm', 'lightly', 'pytorch_lightning'):\n"
                "    sys.modules[name] = None  # import fails, as without the packages\n"
                "from selfsim.cli.main import main\nsys.exit(main(sys.argv[1:]))")
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, **(env or {})})

    done = selfsim("index", str(photo_dir), "--index", str(idx), "--model", str(model), "-q")
    assert done.returncode == 0, done.stderr
    found = selfsim("search", "--index", str(idx), str(photo_dir / "orange.jpg"), "--json", "-k", "2", "-q")
    assert found.returncode == 0, found.stderr
    assert Path(json.loads(found.stdout)["hits"][0]["path"]).name == "orange.jpg"
    verified = selfsim("search", "--index", str(idx), str(photo_dir / "baboon.jpg"), "--verify", "3", "--json", "-q")
    assert verified.returncode == 0 and json.loads(verified.stdout)["hits"][0]["verified"], verified.stderr
    groups = selfsim("dedup", "--index", str(idx), "--json", "-q")
    assert groups.returncode == 0 and json.loads(groups.stdout)["groups"] == [], groups.stderr
    refused = selfsim("search", "--index", str(idx), str(photo_dir / "orange.jpg"), "--model", "default", "-q",
                      env={"SELFSIM_RUNTIME": "torch"})
    assert refused.returncode == 1 and "PyTorch" in refused.stderr and refused.stderr.count("\n") == 1
