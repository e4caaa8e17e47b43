"""The LightningModule that trains an encoder with one self-supervised method.

Lightning provides the loop: devices (CUDA with mixed precision when present, CPU
otherwise), checkpoints, resuming and DDP. This module only says what one step is.
"""

from __future__ import annotations

import math
import time

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from selfsim.errors import SelfsimError
from selfsim.models.encoder import Encoder
from selfsim.ssl.methods import Features, make_method

#: Normalised per-dimension spread below which embeddings count as collapsed.
COLLAPSE_STD = 0.05


class TrainingStopped(SelfsimError):
    """Training stopped because the model collapsed or diverged; nothing was written."""


def spread(h: torch.Tensor) -> float:
    """Per-dimension std of L2-normalised embeddings, x sqrt(D): about 1 when they
    fill the sphere evenly, 0 when every image maps to the same point."""
    z = F.normalize(h.float(), dim=1)
    return float(z.std(dim=0).mean() * math.sqrt(z.shape[1]))


class SSLModule(pl.LightningModule):
    """Two views -> backbone -> pooling -> the method's heads -> loss.

    Args:
        encoder: what is trained (its backbone and pooling); saved after training.
        method: one of :data:`selfsim.ssl.losses.METHODS`.
        lr, weight_decay: AdamW; the learning rate follows a cosine schedule with a
            short warm-up over ``max_steps``.
        freeze_bn: the backbone's batch-norm layers stay in eval mode (their running
            statistics are kept; their affine weights still train).
        seed: with several processes (DDP), process ``r`` draws its views from ``seed * 1000 + r``.
    """

    def __init__(self, encoder: Encoder, method: str, lr: float, weight_decay: float, max_steps: int,
                 freeze_bn: bool = False, seed: int = 0) -> None:
        super().__init__()
        self.encoder = encoder
        self.features = Features(encoder)
        self.method = method
        self.objective = make_method(method, self.features, encoder.dim)  # raises for an unknown method
        self.lr, self.weight_decay, self.max_steps = lr, weight_decay, max_steps
        self.freeze_bn = freeze_bn
        self._last_step_at: float | None = None
        self._rate: float | None = None
        self.low_spread_checks = 0
        self.start_step = 0
        self.seed = seed

    def train(self, mode: bool = True) -> SSLModule:
        super().train(mode)
        if mode and self.freeze_bn:
            teacher = getattr(self.objective, "teacher_features", None)
            for part in (self.encoder, teacher):
                for m in part.modules() if part is not None else ():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):
                        m.eval()
        return self

    def on_train_epoch_start(self) -> None:
        self._last_step_at = None  # epoch boundaries (monitor, checkpoints) are not steps

    def on_train_start(self) -> None:
        self.start_step = self.global_step  # > 0 after --resume
        if self.trainer.world_size > 1:  # DDP: each process draws its own views (loading in-process too)
            torch.manual_seed(self.seed * 1000 + self.global_rank)


    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x0, x1 = batch
        loss, h0 = self.objective.step_loss(self.features, x0, x1, self.global_step, self.max_steps)
        if not torch.isfinite(loss):
            raise TrainingStopped(
                f"loss became {float(loss)} at step {self.global_step}; the last good checkpoint is kept. "
                "Try a lower --lr"
            )
        s = spread(h0.detach())
        self.low_spread_checks = self.low_spread_checks + 1 if s < COLLAPSE_STD else 0
        if self.low_spread_checks >= 50:
            raise TrainingStopped(
                f"embeddings collapsed (spread {s:.3f} < {COLLAPSE_STD} for 50 steps): every picture maps to "
                "nearly the same vector. Nothing was written; try another --method or a lower --lr"
            )
        self.log("loss", loss, prog_bar=True)
        self.log("spread", s, prog_bar=True)
        now = time.perf_counter()
        if self._last_step_at is not None:  # images per second, smoothed over about 20 steps
            rate = len(x0) / max(now - self._last_step_at, 1e-9)
            self._rate = rate if self._rate is None else 0.95 * self._rate + 0.05 * rate
            self.log("img/s", self._rate, prog_bar=True)
        self._last_step_at = now
        return loss

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        trained = [p for p in self.parameters() if p.requires_grad]  # not the momentum teachers
        opt = torch.optim.AdamW(trained, lr=self.lr, weight_decay=self.weight_decay)
        warmup = max(1, min(200, self.max_steps // 20))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            t = (step - warmup) / max(1, self.max_steps - warmup)
            return 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
