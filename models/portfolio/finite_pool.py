"""Exact finite pool (Andersen-Sidenius-Basu recursion): heterogeneous loans, one factor.

Given the systematic factor ``z`` defaults are independent, so the conditional loss distribution is
built loan by loan on a loss grid: ``P'(l) = (1 - p_i) P(l) + p_i P(l - k_i)``, where ``k_i`` is the
loan's loss ``w_i * LGD_i`` in grid units. A loss that is not a whole number of units is split
between the two neighbouring units so that the pool's expected loss is kept exactly; the unit is
chosen so that the smallest loan's loss is a whole number of units whenever the grid allows (a
homogeneous pool is then exact). Identical loans take a binomial shortcut. The conditional
distributions are mixed over ``z`` with Gauss-Hermite quadrature. Loss is a fraction of pool notional.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite import hermgauss
from numpy.typing import NDArray
from scipy.stats import binom

from data_contracts.errors import PortfolioError
from models.portfolio.distribution import DiscreteLoss
from models.portfolio.gaussian import conditional_pd, default_threshold


@dataclass(frozen=True)
class ExactConfig:
    """``quadrature_nodes``: Gauss-Hermite nodes over the factor (default 128, at most 300); ``grid_points``: loss
    grid size for heterogeneous pools (default 8192; more = finer loss units, slower)."""

    quadrature_nodes: int = 128
    grid_points: int = 8192

    def __post_init__(self) -> None:
        if not 2 <= self.quadrature_nodes <= 300 or self.grid_points < 16:
            raise PortfolioError(f"exact engine: 2 <= quadrature_nodes <= 300 and grid_points >= 16 needed; got {self}")


def factor_nodes(n: int, shift: float = 0.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gauss-Hermite nodes and weights for E[f(Z)], Z ~ N(shift, 1); nodes with weight below 1e-16
    (beyond about 8 standard deviations) are dropped: they cannot move a probability."""
    x, w = hermgauss(n)
    z, w = np.sqrt(2.0) * x + shift, w / np.sqrt(np.pi)
    keep = w > 1e-16
    return z[keep], w[keep] / w[keep].sum()


def exact_loss(
    weights: NDArray[np.float64],
    pd_: NDArray[np.float64],
    lgd: NDArray[np.float64],
    rho: NDArray[np.float64],
    factor_shift: float = 0.0,
    config: ExactConfig = ExactConfig(),
) -> DiscreteLoss:
    """Loss distribution of a finite pool. Arrays (n_loans,): exposure fractions (sum 1), PD, LGD,
    asset correlation per loan; ``factor_shift`` is the factor's mean (negative = downturn)."""
    z, wz = factor_nodes(config.quadrature_nodes, factor_shift)
    loss = np.asarray(weights, float) * np.asarray(lgd, float)
    c = default_threshold(pd_)
    p = conditional_pd(c[None, :], np.asarray(rho, float)[None, :], z[:, None])  # (nodes, loans)
    active = (loss > 0) & (np.asarray(pd_) > 0)
    loss, p = loss[active], p[:, active]
    if loss.size == 0:
        return DiscreteLoss(np.array([0.0]), np.array([1.0]))
    if np.ptp(loss) <= 1e-15 * loss.max() and np.all(np.ptp(p, axis=1) <= 1e-15):
        n = loss.size
        counts = np.arange(n + 1)
        probs = wz @ binom.pmf(counts[None, :], n, p[:, :1])
        return DiscreteLoss(counts * loss[0], _clean(probs))

    total = loss.sum()
    unit = total / (config.grid_points - 1)
    smallest = loss.min()
    if smallest >= unit:
        unit = smallest / np.floor(smallest / unit)
    units = loss / unit
    k = np.floor(units + 1e-9).astype(np.int64)
    frac = np.clip(units - k, 0.0, 1.0)
    frac[frac < 1e-9] = 0.0
    size = int(k.sum() + np.count_nonzero(frac)) + 1
    nodes = z.size
    P = np.zeros((nodes, size))
    Q = np.zeros((nodes, size))
    T = np.empty((nodes, size))
    P[:, 0] = 1.0
    m = 1  # active length: P[:, m:] is zero
    for i in range(loss.size):
        pi = p[:, i][:, None]
        ki, fi = int(k[i]), float(frac[i])
        top = m + ki + (1 if fi > 0 else 0)
        a, t = P[:, :m], T[:, :m]
        np.multiply(a, 1.0 - pi, out=Q[:, :m])
        Q[:, m:top] = 0.0
        if fi > 0:
            np.multiply(a, pi * (1.0 - fi), out=t)
            np.add(Q[:, ki:ki + m], t, out=Q[:, ki:ki + m])
            np.multiply(a, pi * fi, out=t)
            np.add(Q[:, ki + 1:ki + 1 + m], t, out=Q[:, ki + 1:ki + 1 + m])
        else:
            np.multiply(a, pi, out=t)
            np.add(Q[:, ki:ki + m], t, out=Q[:, ki:ki + m])
        P, Q = Q, P
        m = top
    probs = wz @ P[:, :m]
    return DiscreteLoss(np.arange(m) * unit, _clean(probs))


def _clean(probs: NDArray[np.float64]) -> NDArray[np.float64]:
    probs = np.clip(probs, 0.0, None)
    return probs / probs.sum()
