"""Each loss against a reference written out by hand from its paper."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from selfsim.errors import SelfsimError
from selfsim.ssl.losses import SSCDLoss, make_loss


def _views(n: int = 6, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def ntxent_reference(z0: torch.Tensor, z1: torch.Tensor, t: float) -> float:
    """SimCLR (Chen et al. 2020), eq. 1, averaged over all 2n anchors, as loops."""
    z = F.normalize(torch.cat([z0, z1]), dim=1)
    n = len(z0)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        num = math.exp(float(z[i] @ z[j]) / t)
        den = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(2 * n) if k != i)
        total += -math.log(num / den)
    return total / (2 * n)


@pytest.mark.parametrize("t", [0.05, 0.1, 0.5])
def test_ntxent(t: float) -> None:
    z0, z1 = _views()
    assert float(make_loss("simclr", temperature=t)(z0, z1)) == pytest.approx(ntxent_reference(z0, z1, t), rel=1e-4)


def test_negative_cosine_similarity() -> None:
    z0, z1 = _views()
    ref = -sum(float(F.cosine_similarity(a, b, dim=0)) for a, b in zip(z0, z1)) / len(z0)
    assert float(make_loss("byol")(z0, z1)) == pytest.approx(ref, rel=1e-5)


def vicreg_reference(a: torch.Tensor, b: torch.Tensor, lam: float = 25, mu: float = 25, nu: float = 1, eps: float = 1e-4) -> float:
    """VICReg (Bardes et al. 2022), section 3, term by term."""
    n, d = a.shape
    inv = float(((a - b) ** 2).mean())

    def var(x: torch.Tensor) -> float:
        return float(F.relu(1 - torch.sqrt(x.var(dim=0) + eps)).mean())

    def cov(x: torch.Tensor) -> float:
        xc = x - x.mean(dim=0)
        c = (xc.T @ xc) / (n - 1)
        off = c - torch.diag(torch.diag(c))
        return float((off**2).sum()) / d

    return lam * inv + mu * 0.5 * (var(a) + var(b)) + nu * (cov(a) + cov(b))


def test_vicreg() -> None:
    z0, z1 = _views(n=16, d=8)
    assert float(make_loss("vicreg")(z0, z1)) == pytest.approx(vicreg_reference(z0, z1), rel=1e-4)


def koleo_reference(x: torch.Tensor, eps: float = 1e-8) -> float:
    """KoLeo (Sablayrolles et al. 2019): -mean log distance to the nearest neighbour."""
    x = F.normalize(x, dim=1)
    total = 0.0
    for i in range(len(x)):
        nearest = min(float(torch.dist(x[i], x[j])) for j in range(len(x)) if j != i)
        total += -math.log(nearest + eps)
    return total / len(x)


def test_sscd_is_ntxent_plus_weighted_koleo_within_each_view() -> None:
    z0, z1 = _views()
    loss = SSCDLoss(temperature=0.05, koleo_weight=30.0)
    ref = ntxent_reference(z0, z1, 0.05) + 30.0 * 0.5 * (koleo_reference(z0) + koleo_reference(z1))
    assert float(loss(z0, z1)) == pytest.approx(ref, rel=1e-4)


def test_dino_first_epoch_matches_cross_entropy_of_sharpened_teacher() -> None:
    g = torch.Generator().manual_seed(1)
    t = [torch.randn(4, 16, generator=g) for _ in range(2)]
    s = [torch.randn(4, 16, generator=g) for _ in range(2)]
    loss = make_loss("dino", output_dim=16)
    got = float(loss(t, s, epoch=0))
    # Centre is zero before the first update; teacher temperature 0.04, student 0.1.
    terms = [
        float(-(F.softmax(t[i] / 0.04, dim=-1) * F.log_softmax(s[j] / 0.1, dim=-1)).sum(-1).mean())
        for i in range(2) for j in range(2) if i != j
    ]
    assert got == pytest.approx(sum(terms) / len(terms), rel=1e-4)


def test_unknown_method() -> None:
    with pytest.raises(SelfsimError, match="choose from: simclr"):
        make_loss("moco")
