"""Pool loss distributions behind one interface, whatever engine produced them.

Losses are fractions of pool notional. Every distribution answers ``sf(x) = P(L > x)`` and
``call(x) = E[(L - x)+]``; both return ``(estimate, standard_error)`` where the standard error is
``None`` for deterministic engines (closed form, quadrature) and a Monte Carlo error otherwise.
``expect_calls`` prices a linear combination of calls in one pass, so tranche losses built from
several strikes get one consistent standard error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Calls = Sequence[tuple[float, float]]
"""A payoff ``sum(coef * (L - strike)+)`` as (coef, strike) pairs; strike may be ``inf`` (worth 0)."""


class LossDistribution(Protocol):
    method: str

    def mean(self) -> tuple[float, float | None]: ...
    def sf(self, x: float) -> tuple[float, float | None]: ...
    def expect_calls(self, calls: Calls) -> tuple[float, float | None]: ...
    def quantile(self, q: float) -> float: ...
    def curve(self) -> tuple[NDArray[np.float64], NDArray[np.float64], str]: ...


@dataclass(frozen=True, eq=False)
class DiscreteLoss:
    """Loss on a grid: ``probs[k] = P(L = grid[k])`` (exact finite pool)."""

    grid: NDArray[np.float64]
    probs: NDArray[np.float64]
    method: str = "exact"
    _tol: float = 1e-12

    def mean(self):
        return float(np.dot(self.grid, self.probs)), None

    def sf(self, x: float):
        return float(self.probs[self.grid > x + self._tol].sum()), None

    def expect_calls(self, calls: Calls):
        total = 0.0
        for coef, k in calls:
            if np.isfinite(k):
                total += coef * float(np.dot(np.maximum(self.grid - k, 0.0), self.probs))
        return total, None

    def quantile(self, q: float) -> float:
        cdf = np.cumsum(self.probs)
        i = int(np.searchsorted(cdf, q - 1e-15, side="left"))
        return float(self.grid[min(i, len(self.grid) - 1)])

    def curve(self):
        return self.grid, self.probs, "probability"


@dataclass(frozen=True, eq=False)
class SampledLoss:
    """Monte Carlo loss samples (N,) with optional likelihood-ratio ``weights`` (importance sampling).

    With ``antithetic`` the samples come in pairs (0, 1), (2, 3), ...; standard errors then use pair
    means, which are independent.
    """

    losses: NDArray[np.float64]
    weights: NDArray[np.float64] | None = None
    antithetic: bool = False
    method: str = "mc"
    _sorted: dict = field(default_factory=dict, repr=False)

    @property
    def paths(self) -> int:
        return int(self.losses.shape[0])

    def _estimate(self, values: NDArray[np.float64]) -> tuple[float, float]:
        v = values if self.weights is None else values * self.weights
        if self.antithetic:
            v = 0.5 * (v[0::2] + v[1::2])
        n = v.shape[0]
        est = float(v.mean())
        se = float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        return est, se

    def mean(self):
        return self._estimate(self.losses)

    def sf(self, x: float):
        return self._estimate((self.losses > x + 1e-12).astype(np.float64))

    def expect_calls(self, calls: Calls):
        payoff = np.zeros_like(self.losses)
        for coef, k in calls:
            if np.isfinite(k):
                payoff += coef * np.maximum(self.losses - k, 0.0)
        return self._estimate(payoff)

    def _order(self):
        if "o" not in self._sorted:
            o = np.argsort(self.losses, kind="stable")
            w = np.ones(self.paths) if self.weights is None else self.weights
            cw = np.cumsum(w[o])
            self._sorted["o"] = (self.losses[o], cw / cw[-1])
        return self._sorted["o"]

    def quantile(self, q: float) -> float:
        x, c = self._order()
        return float(x[min(int(np.searchsorted(c, q - 1e-15)), len(x) - 1)])

    def curve(self):
        x, c = self._order()
        top = max(float(x[-1]), 1e-9)
        edges = np.linspace(0.0, top, 201)
        w = None if self.weights is None else self.weights
        hist, _ = np.histogram(self.losses, bins=edges, weights=w)
        hist = hist / (hist.sum() or 1.0)
        return 0.5 * (edges[1:] + edges[:-1]), hist, "probability"
