"""What defines an encoder: a small frozen dataclass stored as JSON beside its weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from selfsim.errors import ModelError

#: Mean/std used by TF-ported EfficientNet-Lite weights (inputs scaled to [-1, 1]).
INCEPTION_MEAN = (0.5, 0.5, 0.5)
INCEPTION_STD = (0.5, 0.5, 0.5)
#: Square input sides an encoder accepts, in pixels.
INPUT_SIZE_RANGE = (32, 1024)


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
        if self.pooling not in ("gem", "avg", "token"):
            raise ModelError(f"unknown pooling '{self.pooling}'; choose from: gem, avg, token")
        low, high = INPUT_SIZE_RANGE
        if not low <= self.input_size <= high:
            raise ModelError(f"input_size {self.input_size} out of range {low}..{high}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EncoderConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown keys in model config: {', '.join(unknown)}")
        for key in ("mean", "std"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    def identity(self) -> str:
        """The fields that change the embedding, as canonical JSON (no name, no info)."""
        d = asdict(self)
        d.pop("name")
        d.pop("info")
        for key in ("feature_level", "whitening"):
            if d[key] is None:  # absent before it existed: fingerprints stay the same
                d.pop(key)
        return json.dumps(d, sort_keys=True)
