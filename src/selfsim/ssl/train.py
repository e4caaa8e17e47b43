"""``train``: an encoder learned from an unlabeled folder, written as a model folder."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pytorch_lightning as pl
import timm
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from selfsim.data.cleaning import CleanReport
from selfsim.errors import SelfsimError
from selfsim.models.config import INCEPTION_MEAN, INCEPTION_STD, INPUT_SIZE_RANGE, EncoderConfig
from selfsim.models.encoder import Encoder
from selfsim.models.factory import (
    DEFAULT_BACKBONE,
    create_backbone,
    cut_backbone,
    default_encoder,
    imagenet_encoder,
    save_encoder,
    timm_name_hint,
)
from selfsim.models.small_cnn import NAME as SMALL_CNN
from selfsim.names import SSL_INITS
from selfsim.ssl.checkpoint_io import AtomicCheckpointIO
from selfsim.ssl.data import ImageFiles
from selfsim.ssl.distributed import has_batch_norm, trainer_options
from selfsim.ssl.module import SSLModule
from selfsim.ssl.monitor import ProbeFactory, Quality, QualityMonitor, split_holdout
from selfsim.ssl.names import METHODS
from selfsim.ssl.resume import RecordRun, check_out, check_resumable, run_record
from selfsim.ssl.transforms import CopyPair, TwoViews, copy_edit_names, view_transform
from selfsim.ssl.whiten import MAX_PICTURES as MAX_WHITENING
from selfsim.ssl.whiten import fit_whitening

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
#: The checkpoint ``--resume`` continues from (Lightning's ``save_last`` name).
LAST_CHECKPOINT = "last.ckpt"
#: What cleaning found, in the checkpoints folder, so that ``--resume`` re-checks only changed files.
CLEAN_CACHE = "clean-cache.json"
#: Where training starts: ``default`` adapts the shipped default encoder, ``imagenet`` the
#: ImageNet EfficientNet-Lite0 it was made from, ``scratch`` random weights.
INITS = SSL_INITS
#: The inits that adapt a pretrained EfficientNet-Lite0 (the copy-detection recipe by default).
PRETRAINED = ("default", "imagenet")


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes:
        method: one of ``selfsim.ssl.names.METHODS`` (``sscd`` is the copy-detection recipe).
        init: one of :data:`INITS`.
        backbone: for ``scratch``: ``selfsim_small_cnn`` or a timm name.
        input_size: side of the square training views.
        epochs, batch_size, lr, weight_decay: the optimisation.
        min_steps: small folders get more epochs, so that training takes at least
            this many steps (adapting to 65 photos in batches of 32 would otherwise
            stop after 10).
        checkpoint_every: steps between checkpoints (for ``--resume``).
        seed: recorded in the model file.
        workers: data-loading processes.
        freeze_bn: keep the backbone's batch-norm statistics as they are (adapting a
            pretrained encoder: re-estimating them on a new folder costs it more than
            the training gains).
        holdout: pictures kept out of training, whose copies the quality monitor
            must not match (None: a tenth of the folder, at most 200, none under 50
            pictures).
        feature_level: train and embed with the backbone cut after this timm
            feature stage (see ``EncoderConfig.feature_level``); None: all of it.
        copy_edits: for ``sscd``, the edits a training copy may get (names from
            ``selfsim.ssl.transforms.COPY_EDITS``); None: all of them.
        whiten: after training, fit a PCA whitening of the descriptors on the
            training pictures and make it part of the model (``models/whitening.py``).
    """

    method: str = "simclr"
    init: str = "scratch"
    backbone: str = SMALL_CNN
    input_size: int = 32
    epochs: int = 10
    min_steps: int = 0
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    checkpoint_every: int = 100
    seed: int = 0
    workers: int = 2
    freeze_bn: bool = False
    holdout: int | None = None
    feature_level: int | None = None
    copy_edits: tuple[str, ...] | None = None
    whiten: bool = False
    devices: int = 1
    num_nodes: int = 1

    @classmethod
    def for_init(cls, init: str, **overrides: object) -> TrainConfig:
        """Defaults that suit ``init``: adapting the default encoder wants its input
        size, the copy-detection recipe, a small learning rate and small batches."""
        base = cls()
        if init in PRETRAINED:
            base = replace(base, method="sscd", init=init, backbone=DEFAULT_BACKBONE,
                           input_size=224, epochs=5, min_steps=150, batch_size=32, lr=1e-4, freeze_bn=True)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]

    def check(self) -> None:
        """Refuse settings that cannot work, before any file is read.

        Raises:
            SelfsimError: in one line, naming the command-line option: an unknown
                method, init, backbone or copy edit, an option that does not apply,
                or a number out of range.
        """
        if self.method not in METHODS:
            raise SelfsimError(f"unknown --method '{self.method}'; choose from: {', '.join(METHODS)}")
        if self.init not in INITS:
            raise SelfsimError(f"unknown --init '{self.init}'; choose from: {', '.join(INITS)}")
        if self.init in PRETRAINED and self.backbone != DEFAULT_BACKBONE:
            raise SelfsimError(f"--backbone applies to --init scratch; --init {self.init} adapts {DEFAULT_BACKBONE}")
        if self.backbone != SMALL_CNN and not timm.is_model(self.backbone):
            raise SelfsimError(f"unknown --backbone '{self.backbone}': {SMALL_CNN} or a timm model name"
                               f"{timm_name_hint(self.backbone)}")
        if self.backbone == SMALL_CNN and self.feature_level is not None:
            raise SelfsimError(f"--feature-level applies to timm backbones; {SMALL_CNN} has no stages to cut at")
        low, high = INPUT_SIZE_RANGE
        if not low <= self.input_size <= high:
            raise SelfsimError(f"--input-size must be {low}..{high} px, got {self.input_size}")
        at_least = {"--epochs": (self.epochs, 1), "--batch-size": (self.batch_size, 2),
                    "--checkpoint-every": (self.checkpoint_every, 1), "--workers": (self.workers, 0),
                    "--holdout": (self.holdout, 0), "--feature-level": (self.feature_level, 0),
                    "--devices": (self.devices, 1), "--num-nodes": (self.num_nodes, 1),
                    "min_steps": (self.min_steps, 0)}
        for option, (value, least) in at_least.items():
            if value is not None and value < least:
                raise SelfsimError(f"{option} must be at least {least}, got {value}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise SelfsimError(f"--lr must be a positive number, got {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise SelfsimError(f"weight_decay must be zero or more, got {self.weight_decay}")
        if self.copy_edits is not None:
            if self.method != "sscd":
                raise SelfsimError(f"--edits applies to --method sscd, not {self.method}")
            copy_edit_names(self.copy_edits)


@dataclass(frozen=True)
class TrainResult:
    """``steps`` in all; ``steps_this_run`` since this run started (after a resume);
    ``quality``: the monitor's results, before training and after each epoch."""

    out: Path
    steps: int
    steps_this_run: int
    seconds: float
    images: int
    batch_size: int
    quality: list[Quality] = field(default_factory=list)
    processes: int = 1  # DDP: each took batches of ``batch_size``

    @property
    def images_per_second(self) -> float:
        """Training images (not views) per second in this run, all processes together."""
        return self.steps_this_run * self.batch_size * self.processes / max(self.seconds, 1e-9)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _encoder(cfg: TrainConfig) -> Encoder:
    """The encoder training starts from; cut at ``cfg.feature_level`` (pooled by
    averaging, as mid-level features can be negative) when it is set."""
    level = cfg.feature_level
    pooling = "avg" if level is not None else "gem"
    if cfg.init in PRETRAINED:
        enc = default_encoder(device="cpu") if cfg.init == "default" else imagenet_encoder(device="cpu")
        if level is not None:
            cut_backbone(enc.backbone, level)
        config = replace(enc.config, input_size=cfg.input_size, feature_level=level, pooling=pooling)
        return Encoder(config, enc.backbone, enc.weights_sha256)
    if cfg.init != "scratch":
        raise SelfsimError(f"unknown --init '{cfg.init}'; choose from: {', '.join(INITS)}")
    config = EncoderConfig(backbone=cfg.backbone, input_size=cfg.input_size, mean=INCEPTION_MEAN, std=INCEPTION_STD,
                           feature_level=level, pooling=pooling)
    return Encoder(config, create_backbone(cfg.backbone, level), weights_sha256="untrained")


def train(cfg: TrainConfig, data: CleanReport, out: str | os.PathLike[str], *, resume: bool = False,
          overwrite: bool = False, progress: bool = True, probe: ProbeFactory | None = None,
          on_quality: Callable[[Quality], None] | None = None,
          on_message: Callable[[str], None] | None = None) -> TrainResult:
    """Train on ``data.kept`` and write a model folder to ``out``.

    Checkpoints go to ``out/checkpoints``; with ``resume`` training continues from
    the last one at the same step, and only with the settings it was started with
    (``resume.py``). A folder that already holds a run is refused unless ``overwrite``
    (its checkpoint is then dropped at once; its model stays until the new one is
    written). The model folder is written only when training
    finishes: a collapse, NaN or interruption never overwrites a good model.
    ``probe`` makes the label-free quality monitor from (training files, held-out
    files); ``on_quality`` receives its result before training and after epochs
    (see ``monitor.py``; ``selfsim train`` passes ``selfsim.eval.probe.CopyRetrievalProbe``).
    ``on_message`` receives the plan (pictures, epochs, steps) before training starts.
    """
    out = Path(out)
    cfg.check()
    if len(data.kept) < 2:
        raise SelfsimError(f"training needs at least 2 usable images, found {len(data.kept)}")
    ckpt_dir = out / CHECKPOINTS
    last = ckpt_dir / LAST_CHECKPOINT
    check_out(out, last, resume=resume, overwrite=overwrite)
    if overwrite:
        last.unlink(missing_ok=True)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    torch.set_float32_matmul_precision("high")
    encoder = _encoder(cfg)
    mean, std = encoder.config.mean, encoder.config.std
    views = (CopyPair(cfg.input_size, mean, std, edits=cfg.copy_edits) if cfg.method == "sscd"
             else TwoViews(view_transform(cfg.input_size, mean, std)))
    train_files, held_out = split_holdout(data.kept, cfg.holdout, cfg.seed)
    if cfg.whiten and len(train_files) < 2 * encoder.dim:  # found out now, not after training
        raise SelfsimError(f"--whiten needs at least {2 * encoder.dim} training pictures for {encoder.dim}-d "
                           f"descriptors, found {len(train_files)}")
    dataset = ImageFiles(train_files, views, min_side=cfg.input_size)
    world = cfg.devices * cfg.num_nodes  # processes; each takes batches of ``batch`` from its share
    batch = min(cfg.batch_size, len(dataset) // world)
    if batch < 2:
        raise SelfsimError(f"{len(dataset)} training pictures cannot give batches of 2 to each of {world} processes; "
                           f"use fewer --devices")
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True, num_workers=cfg.workers,
                        persistent_workers=cfg.workers > 0)  # DDP: Lightning shards it (a seeded sampler)
    per_epoch = len(dataset) // (batch * world)
    epochs = max(cfg.epochs, math.ceil(cfg.min_steps / per_epoch))
    max_steps = epochs * per_epoch
    record = run_record(cfg, len(train_files))
    if resume:
        check_resumable(last, record)
    if on_message is not None:
        on_message(f"training {cfg.method} ({cfg.init}, {encoder.config.backbone}, {cfg.input_size} px) on "
                   f"{len(train_files)} pictures ({len(held_out)} held out as the quality monitor's distractors): "
                   f"{_count(epochs, 'epoch')} of {_count(per_epoch, 'step')}, batches of {batch}"
                   + (f" on each of {world} processes" if world > 1 else ""))
    module = SSLModule(encoder, cfg.method, cfg.lr, cfg.weight_decay, max_steps, freeze_bn=cfg.freeze_bn,
                       seed=cfg.seed)
    ckpt = ModelCheckpoint(dirpath=ckpt_dir, every_n_train_steps=cfg.checkpoint_every, save_last=True, save_top_k=0)
    callbacks: list[pl.Callback] = [ckpt, RecordRun(record)]
    monitor = None
    if probe is not None:
        monitor = QualityMonitor(probe(train_files, held_out), on_quality or (lambda q: log.info("%s", q)),
                                 every=max(1, round(epochs / 10)))
        callbacks.append(monitor)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="auto",
        **trainer_options(cfg.devices, cfg.num_nodes, sync_batch_norm=has_batch_norm(encoder) and not cfg.freeze_bn
                           and torch.cuda.is_available()),  # PyTorch syncs batch norm on GPUs only
        precision="16-mixed" if torch.cuda.is_available() else "32-true",
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        logger=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        default_root_dir=out,
        log_every_n_steps=10,
    )
    t0 = time.perf_counter()
    trainer.fit(module, loader, ckpt_path=str(last) if resume else None)
    seconds = time.perf_counter() - t0
    if not trainer.is_global_zero:  # the main process writes the model
        return TrainResult(out, trainer.global_step, trainer.global_step - module.start_step, seconds,
                           len(train_files), batch, [])
    trained = module.encoder.cpu().eval()
    whitening = None
    if cfg.whiten:
        if on_message is not None:
            on_message(f"fitting a whitening on {min(len(train_files), MAX_WHITENING)} pictures")
        whitening = fit_whitening(trained, train_files, cfg.seed, workers=cfg.workers, progress=progress)
    info = {
        "method": cfg.method, "init": cfg.init, "seed": cfg.seed, "steps": trainer.global_step,
        "train_config": asdict(cfg),
        "data": {"images": len(train_files), "held_out": len(held_out), "dropped": len(data.dropped)},
        "quality": monitor.as_info() if monitor is not None else [],
        "whitening": {"pictures": min(len(train_files), MAX_WHITENING)} if whitening else None,
    }
    config = replace(trained.config, name=out.name, info=info, whitening=whitening.dim if whitening else None)
    save_encoder(Encoder(config, trained.backbone, "trained", whitening=whitening), out)
    return TrainResult(out, trainer.global_step, trainer.global_step - module.start_step, seconds, len(train_files),
                       batch, monitor.history if monitor is not None else [], world)
