"""Credit enhancement between the pool's loss and the tranches.

Pool loss ``L`` (fraction of pool notional) is first shared with the government risk-compensation
fund, which pays ``compensation_share`` of every loss up to ``compensation_cap`` (fraction of pool
notional; ``None`` = no cap); a cash ``reserve`` then absorbs losses, then the overcollateralisation:
the notes are ``1 - overcollateralisation`` of the pool notional. Tranche points are fractions of the
notes' notional (the pool notional when there is no overcollateralisation). The loss reaching the notes,
as a fraction of their notional, is

    g(L) = max(h(L) - reserve - oc, 0) / (1 - oc),   h(L) = L - min(share * L, cap).

``h`` is convex and piecewise linear, so ``(g(L) - K)+`` is a sum of calls on ``L``: every engine
prices tranches from its own ``E[(L - x)+]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts.errors import PortfolioError
from models.portfolio.distribution import Calls


@dataclass(frozen=True)
class Enhancement:
    """``compensation_share`` in [0, 1]; ``compensation_cap``, ``reserve``, ``overcollateralisation``
    fractions of pool notional (cap ``None`` = unlimited). Defaults: no enhancement."""

    compensation_share: float = 0.0
    compensation_cap: float | None = None
    reserve: float = 0.0
    overcollateralisation: float = 0.0

    def __post_init__(self) -> None:
        for name in ("compensation_share", "reserve", "overcollateralisation"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0.0 <= v <= 1.0):
                raise PortfolioError(f"enhancement: {name} must be in [0, 1]; got {v!r}")
        if self.overcollateralisation >= 1.0:
            raise PortfolioError("enhancement: overcollateralisation must be below 1 (the notes need a notional)")
        if self.compensation_cap is not None and not (np.isfinite(self.compensation_cap) and self.compensation_cap >= 0):
            raise PortfolioError(f"enhancement: compensation_cap must be a fraction >= 0; got {self.compensation_cap!r}")

    @property
    def _kink(self) -> float:
        """Pool loss at which the compensation cap binds (inf if never)."""
        if self.compensation_cap is None or self.compensation_share == 0:
            return np.inf
        return self.compensation_cap / self.compensation_share

    def notes_loss(self, pool_loss: np.ndarray | float) -> np.ndarray:
        """g(L): loss reaching the notes as a fraction of their notional."""
        L = np.asarray(pool_loss, float)
        comp = self.compensation_share * L
        if self.compensation_cap is not None:
            comp = np.minimum(comp, self.compensation_cap)
        h = L - comp
        return np.maximum(h - self.reserve - self.overcollateralisation, 0.0) / (1.0 - self.overcollateralisation)

    def _h_inverse(self, y: float) -> float:
        """sup{L : h(L) <= y} for y >= 0: the pool loss beyond which h exceeds y."""
        s, kink = self.compensation_share, self._kink
        slope1 = 1.0 - s
        if np.isfinite(kink) and y >= slope1 * kink:
            return kink + (y - slope1 * kink)
        return y / slope1 if slope1 > 0 else np.inf

    def pool_threshold(self, k: float) -> float:
        """The pool loss beyond which the notes lose more than ``k``: P(g(L) > k) = P(L > threshold)."""
        return self._h_inverse(self.reserve + self.overcollateralisation + k * (1.0 - self.overcollateralisation))

    def calls(self, k: float) -> Calls:
        """``(g(L) - k)+`` as calls on the pool loss, [(coef, strike), ...]."""
        oc = 1.0 - self.overcollateralisation
        x1 = self.pool_threshold(k)
        if not np.isfinite(x1):
            return []
        s, kink = self.compensation_share, self._kink
        if np.isfinite(kink) and x1 < kink:
            return [((1.0 - s) / oc, x1), (s / oc, kink)]
        if np.isfinite(kink):
            return [(1.0 / oc, x1)]
        return [((1.0 - s) / oc, x1)]

    def as_dict(self) -> dict:
        return {"compensation_share": self.compensation_share, "compensation_cap": self.compensation_cap,
                "reserve": self.reserve, "overcollateralisation": self.overcollateralisation}
