"""Model configs are checked once, when made: every bad file or value is one line."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from selfsim.errors import ModelError
from selfsim.models import load_encoder
from selfsim.models.config import EncoderConfig

GOOD = {"backbone": "tf_efficientnet_lite0", "input_size": 224, "gem_p": 3.0}


def _with(**changes: object) -> str:
    return json.dumps({**GOOD, **changes})


# (file contents, words the message must hold)
BAD_FILES = [
    (b"\xff\xfe{\x00", "not UTF-8"),
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ("{" + '"a":{' * 200_000 + "}" * 200_001, "nested too deeply"),
    ('{"backbone": ', "not valid JSON"),
    ("[1, 2, 3]", "must be a JSON object, found an array"),
    ('"tf_efficientnet_lite0"', "must be a JSON object, found a string"),
    ("null", "must be a JSON object, found null"),
    ('{"input_size": 224}', "no 'backbone' key"),
    (_with(colour="red"), "unknown keys in model config: colour"),
    (_with(backbone=None), 'backbone must be a model name, got null'),
    (_with(input_size="224"), 'input_size must be a whole number in 32..1024, got "224"'),
    (_with(input_size=224.5), "input_size must be a whole number in 32..1024, got 224.5"),
    (_with(input_size=True), "input_size must be a whole number in 32..1024, got true"),
    (_with(input_size=None), "input_size must be a whole number in 32..1024, got null"),
    (_with(input_size=10), "input_size must be a whole number in 32..1024, got 10"),
    (_with(pooling=["gem"]), 'unknown pooling ["gem"]; choose from: gem, avg, token'),
    (_with(gem_p=None), "gem_p must be a finite number > 0, got null"),
    (_with(gem_p="3"), 'gem_p must be a finite number > 0, got "3"'),
    (_with(gem_p=0), "gem_p must be a finite number > 0, got 0"),
    (_with(gem_p=-2.0), "gem_p must be a finite number > 0, got -2.0"),
    (_with(gem_p=False), "gem_p must be a finite number > 0, got false"),
    ('{"backbone": "x", "gem_p": NaN}', "gem_p must be a finite number > 0, got NaN"),
    ('{"backbone": "x", "gem_p": 1e999}', "gem_p must be a finite number > 0, got Infinity"),
    (_with(mean=["a", 0, 0]), 'mean must be 3 finite numbers (one per RGB channel), got ["a", 0, 0]'),
    (_with(mean=[0.5, 0.5]), "mean must be 3 finite numbers"),
    (_with(mean=0.5), "mean must be 3 finite numbers"),
    (_with(mean=None), "mean must be 3 finite numbers"),
    (_with(mean=[0.5, True, 0.5]), "mean must be 3 finite numbers"),
    ('{"backbone": "x", "mean": [0.5, NaN, 0.5]}', "mean must be 3 finite numbers (one per RGB channel), got [0.5, NaN, 0.5]"),
    ('{"backbone": "x", "std": [0.5, Infinity, 0.5]}', "std must be 3 finite numbers > 0"),
    (_with(std=[0.5, 0, 0.5]), "std must be 3 finite numbers > 0 (one per RGB channel), got [0.5, 0, 0.5]"),
    (_with(std=[0.5, -0.5, 0.5]), "std must be 3 finite numbers > 0"),
    (_with(name=7), "name must be a string, got 7"),
    (_with(info=[]), "info must be an object, got []"),
    (_with(feature_level=1.5), "feature_level must be a whole number >= 0 or null, got 1.5"),
    (_with(feature_level=True), "feature_level must be a whole number >= 0 or null, got true"),
    (_with(feature_level=-1), "feature_level must be a whole number >= 0 or null, got -1"),
    (_with(whitening="x"), 'whitening must be a whole number >= 1 or null, got "x"'),
    (_with(whitening=0), "whitening must be a whole number >= 1 or null, got 0"),
    (_with(whitening=False), "whitening must be a whole number >= 1 or null, got false"),
    ('{"backbone": "x", "whitening": ' + "9" * 5000 + "}", "not valid JSON"),
]


@pytest.mark.parametrize("content,message", BAD_FILES, ids=[m[:40] for _, m in BAD_FILES])
def test_a_bad_config_file_is_one_line_naming_the_file(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ModelError) as e:
        EncoderConfig.load(path)
    text = str(e.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "\n" not in text and len(text) < 300


def test_a_model_folder_with_a_bad_config_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"never read: the config is refused first")
    for content, message in [(b"\x80abc", "not UTF-8"), (b"[" * 200_000, "nested too deeply"),
                             (_with(gem_p=None).encode(), "gem_p must be")]:
        (folder / "config.json").write_bytes(content)
        with pytest.raises(ModelError, match=rf"^{re.escape(str(folder / 'config.json'))}: .*{message}"):
            load_encoder(str(folder), device="cpu")


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"input_size": "224"}, "input_size must be"),
        ({"gem_p": float("nan")}, "gem_p must be"),
        ({"mean": (0.5, float("inf"), 0.5)}, "mean must be"),
        ({"std": (0.5, 0.0, 0.5)}, "std must be"),
        ({"feature_level": 2.0}, "feature_level must be"),
        ({"whitening": True}, "whitening must be"),
    ],
)
def test_every_way_of_making_a_config_is_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        EncoderConfig(backbone="x", **changes)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=message):
        replace(EncoderConfig(backbone="x"), **changes)


def test_good_configs_round_trip_and_keep_their_identity(tmp_path: Path) -> None:
    config = EncoderConfig(backbone="resnet50", input_size=256, pooling="avg", gem_p=2, mean=(0, 0, 0),
                           std=(1, 1, 1), feature_level=0, whitening=64, info={"weights": "x"})
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    loaded = EncoderConfig.load(path)
    assert loaded == config and loaded.identity() == config.identity()
    assert loaded.mean == (0, 0, 0) and isinstance(loaded.mean, tuple)  # a JSON list, read back as a tuple
    # A file saved with a byte-order mark (some Windows editors) still reads.
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert EncoderConfig.load(path).backbone == "tf_efficientnet_lite0"
