"""What defines an encoder: a small frozen dataclass stored as JSON beside its weights."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from selfsim.errors import ModelError
from selfsim.json_values import is_int, is_number, show

#: Mean/std used by TF-ported EfficientNet-Lite weights (inputs scaled to [-1, 1]).
INCEPTION_MEAN = (0.5, 0.5, 0.5)
INCEPTION_STD = (0.5, 0.5, 0.5)
#: Square input sides an encoder accepts, in pixels.
INPUT_SIZE_RANGE = (32, 1024)
POOLINGS = ("gem", "avg", "token")


@dataclass(frozen=True)
class EncoderConfig:
    """How pixels become an embedding.

    Attributes:
        backbone: timm model name (``tf_efficientnet_lite0``, ``resnet50``, ...).
        input_size: images are resized, without cropping, to ``input_size`` squared,
            so that nothing at the borders is lost (copies are often crops).
        pooling: ``gem`` for CNN feature maps; ``avg`` for feature maps that can
            be negative (an intermediate stage, see ``feature_level``); ``token``
            for transformers, whose own head pools (CLS token or average, as timm
            defines it).
        feature_level: keep the backbone only up to this timm feature stage
            (``model.feature_info``; e.g. 3 is EfficientNet's stride-16 stage) and
            pool there; None keeps the whole backbone. Mid-level features suit
            small pictures (Fashion-MNIST) better than the last, most ImageNet-bound ones.
        whitening: output size of a PCA whitening learned on the training folder
            (``models/whitening.py``), applied after pooling; None: no whitening.
        gem_p: GeM exponent.
        mean, std: per-channel normalisation applied to [0, 1] pixels.
        name: a label shown to users (``default``, a file name, a timm name).
        info: free-form provenance (weights source, training method and data).
    """

    backbone: str
    input_size: int = 224
    pooling: str = "gem"
    gem_p: float = 3.0
    mean: tuple[float, float, float] = INCEPTION_MEAN
    std: tuple[float, float, float] = INCEPTION_STD
    name: str = "default"
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    feature_level: int | None = None
    whitening: int | None = None

    def __post_init__(self) -> None:
        # Every way of making a config (a JSON file, code, dataclasses.replace) passes
        # here, so a bad value is refused once, in one line, before any model is built.
        if not isinstance(self.backbone, str) or not self.backbone:
            raise ModelError(f"backbone must be a model name, got {show(self.backbone)}")
        low, high = INPUT_SIZE_RANGE
        if not is_int(self.input_size) or not low <= self.input_size <= high:
            raise ModelError(f"input_size must be a whole number in {low}..{high}, got {show(self.input_size)}")
        if not isinstance(self.pooling, str) or self.pooling not in POOLINGS:
            raise ModelError(f"unknown pooling {show(self.pooling)}; choose from: {', '.join(POOLINGS)}")
        if not is_number(self.gem_p) or not 0 < self.gem_p:
            raise ModelError(f"gem_p must be a finite number > 0, got {show(self.gem_p)}")
        for key in ("mean", "std"):
            value = getattr(self, key)
            ok = isinstance(value, (tuple, list)) and len(value) == 3 and all(is_number(v) for v in value)
            if key == "std" and ok:
                ok = all(v > 0 for v in value)  # pixels are divided by it
            if not ok:
                allowed = "3 finite numbers" + (" > 0" if key == "std" else "")
                raise ModelError(f"{key} must be {allowed} (one per RGB channel), got {show(value)}")
            object.__setattr__(self, key, tuple(value))  # a JSON list becomes the declared tuple
        if not isinstance(self.name, str):
            raise ModelError(f"name must be a string, got {show(self.name)}")
        if not isinstance(self.info, dict):
            raise ModelError(f"info must be an object, got {show(self.info)}")
        if self.feature_level is not None and not (is_int(self.feature_level) and self.feature_level >= 0):
            raise ModelError(f"feature_level must be a whole number >= 0 or null, got {show(self.feature_level)}")
        if self.whitening is not None and not (is_int(self.whitening) and self.whitening >= 1):
            raise ModelError(f"whitening must be a whole number >= 1 or null, got {show(self.whitening)}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EncoderConfig:
        """Parse what :meth:`to_json` writes.

        Raises:
            ModelError: not JSON, not an object, unknown or missing keys, or a bad value.
        """
        try:
            data = json.loads(text)
        except ValueError as e:  # JSONDecodeError, or an integer of more than 4300 digits
            raise ModelError(f"not valid JSON ({e})") from None
        except RecursionError:
            raise ModelError("not a model config (JSON nested too deeply)") from None
        if not isinstance(data, dict):
            raise ModelError(f"a model config must be a JSON object, found {_json_type(data)}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ModelError(f"unknown keys in model config: {', '.join(unknown)}; allowed: {', '.join(known)}")
        if "backbone" not in data:
            raise ModelError("model config has no 'backbone' key")
        return cls(**data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EncoderConfig:
        """Read a ``config.json``; every problem with it is one :class:`ModelError` naming the file."""
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ModelError(f"{path}: not a model config (not UTF-8 text: bad byte at offset {e.start})") from None
        except OSError as e:
            raise ModelError(f"{path}: cannot be read ({e.strerror or e})") from None
        try:
            return cls.from_json(text)
        except ModelError as e:
            raise ModelError(f"{path}: {e}") from None

    def identity(self) -> str:
        """The fields that change the embedding, as canonical JSON (no name, no info)."""
        d = asdict(self)
        d.pop("name")
        d.pop("info")
        for key in ("feature_level", "whitening"):
            if d[key] is None:  # absent before it existed: fingerprints stay the same
                d.pop(key)
        return json.dumps(d, sort_keys=True)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


