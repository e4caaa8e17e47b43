"""The self-supervised objectives: what one training step computes from two views.

Each method is a ``nn.Module`` holding its heads (and, for BYOL and DINO, a
momentum teacher), so that checkpoints and ``--resume`` carry all of it. The
heads, losses and momentum utilities are lightly's; only the wiring is here.

- ``simclr``: a projection head and a contrastive loss.
- ``sscd``: the contrastive loss (plus KoLeo) on the descriptor itself, with no
  projection head, as SSCD trains: copy detection compares exactly these vectors,
  so the invariance to edits must be learned there, not in a head that is thrown away.
- ``vicreg``: an expander and the variance-invariance-covariance loss.
- ``simsiam``: projection + prediction heads, stop-gradient on the other view.
- ``byol``: like SimSiam, but targets come from an exponential-moving-average teacher.
- ``dino``: a teacher with the same head; cross-entropy between centred, sharpened
  teacher outputs and the student's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from lightly.models.modules.heads import (
    BYOLPredictionHead,
    BYOLProjectionHead,
    DINOProjectionHead,
    SimCLRProjectionHead,
    SimSiamPredictionHead,
    SimSiamProjectionHead,
    VICRegProjectionHead,
)
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.utils.scheduler import cosine_schedule
from torch import nn

from selfsim.errors import SelfsimError
from selfsim.models.encoder import Encoder
from selfsim.ssl.losses import METHODS, make_loss


class Features(nn.Module):
    """Image batch -> pooled (B, D) features, before L2 normalisation: what is trained."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.pooled(x)


class Method(nn.Module):
    """One self-supervised objective over two views of the same images."""

    def step_loss(self, features: Features, x0: torch.Tensor, x1: torch.Tensor, step: int, max_steps: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (loss, pooled features of ``x0``), the latter for the collapse monitor."""
        raise NotImplementedError


class TwoBranch(Method):
    """SimCLR, SSCD, VICReg: one head (none for SSCD), a symmetric loss of both views' outputs."""

    def __init__(self, method: str, dim: int) -> None:
        super().__init__()
        self.head: nn.Module
        if method == "vicreg":
            self.head = VICRegProjectionHead(dim, 2048, 2048)
        elif method == "sscd":
            self.head = nn.Identity()
        else:
            self.head = SimCLRProjectionHead(dim, 2048, 256)
        self.loss = make_loss(method)

    def step_loss(self, features: Features, x0: torch.Tensor, x1: torch.Tensor, step: int, max_steps: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        h = features(torch.cat([x0, x1]))
        z0, z1 = self.head(h).chunk(2)
        return self.loss(z0, z1), h[: len(x0)]


class SimSiam(Method):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.projection = SimSiamProjectionHead(dim, 2048, 2048)
        self.prediction = SimSiamPredictionHead(2048, 512, 2048)
        self.loss = make_loss("simsiam")

    def step_loss(self, features: Features, x0: torch.Tensor, x1: torch.Tensor, step: int, max_steps: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        h = features(torch.cat([x0, x1]))
        z = self.projection(h)
        p = self.prediction(z)
        z0, z1 = z.detach().chunk(2)
        p0, p1 = p.chunk(2)
        return 0.5 * (self.loss(p0, z1) + self.loss(p1, z0)), h[: len(x0)]


class _Teacher(Method):
    """A momentum copy of the student's features and projection, never trained by gradients."""

    momentum: tuple[float, float]

    def _make_teacher(self, student: Features, projection: nn.Module, make_projection: Callable[[], nn.Module]
                      ) -> None:
        self.teacher_features = copy.deepcopy(student)
        # A new head loaded with the student's weights: DINO's weight-normed layer cannot be deep-copied.
        self.teacher_projection = make_projection()
        self.teacher_projection.load_state_dict(projection.state_dict())
        deactivate_requires_grad(self.teacher_features)
        deactivate_requires_grad(self.teacher_projection)

    def _update_teacher(self, student: Features, projection: nn.Module, step: int, max_steps: int) -> None:
        m = cosine_schedule(step, max(max_steps, 1), *self.momentum)
        update_momentum(student, self.teacher_features, m)
        update_momentum(projection, self.teacher_projection, m)

    @torch.no_grad()
    def _teacher(self, x: torch.Tensor) -> torch.Tensor:
        return self.teacher_projection(self.teacher_features(x))


class BYOL(_Teacher):
    momentum = (0.99, 1.0)

    def __init__(self, student: Features, dim: int) -> None:
        super().__init__()
        def head() -> nn.Module:
            return BYOLProjectionHead(dim, 2048, 256)

        self.projection = head()
        self.prediction = BYOLPredictionHead(256, 2048, 256)
        self._make_teacher(student, self.projection, head)
        self.loss = make_loss("byol")

    def step_loss(self, features: Features, x0: torch.Tensor, x1: torch.Tensor, step: int, max_steps: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        self._update_teacher(features, self.projection, step, max_steps)
        h = features(torch.cat([x0, x1]))
        p0, p1 = self.prediction(self.projection(h)).chunk(2)
        t0, t1 = self._teacher(torch.cat([x0, x1])).chunk(2)
        return 0.5 * (self.loss(p0, t1) + self.loss(p1, t0)), h[: len(x0)]


class DINO(_Teacher):
    momentum = (0.996, 1.0)
    output_dim = 4096  # smaller than the paper's 65536: selfsim's folders are small

    def __init__(self, student: Features, dim: int) -> None:
        super().__init__()
        def head() -> nn.Module:
            return DINOProjectionHead(dim, 1024, 256, self.output_dim)

        self.projection = head()
        self._make_teacher(student, self.projection, head)
        self.loss = make_loss("dino", output_dim=self.output_dim)

    def step_loss(self, features: Features, x0: torch.Tensor, x1: torch.Tensor, step: int, max_steps: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        self._update_teacher(features, self.projection, step, max_steps)
        h = features(torch.cat([x0, x1]))
        s0, s1 = self.projection(h).chunk(2)
        t0, t1 = self._teacher(torch.cat([x0, x1])).chunk(2)
        return self.loss([t0, t1], [s0, s1]), h[: len(x0)]


def make_method(method: str, student: Features, dim: int) -> Method:
    """The objective for ``method``; ``student`` is what trains (BYOL and DINO copy it
    as their teacher; it is passed again to each :meth:`Method.step_loss`).

    Raises:
        SelfsimError: unknown method (the message lists the known ones).
    """
    if method in ("simclr", "sscd", "vicreg"):
        return TwoBranch(method, dim)
    if method == "simsiam":
        return SimSiam(dim)
    if method == "byol":
        return BYOL(student, dim)
    if method == "dino":
        return DINO(student, dim)
    raise SelfsimError(f"unknown method '{method}'; choose from: {', '.join(METHODS)}")
