"""Correlation structure of the Gaussian copula: one global factor, one factor per sector.

A loan in sector ``s`` has latent value ``X = sqrt(rho_s) Y_s + sqrt(1 - rho_s) e`` and defaults when
``X < Phi^-1(PD)``. Sector factors load on one global factor: ``Y_s = sqrt(tau_s) Z + sqrt(1 - tau_s) W_s``,
so two sectors' factors have correlation ``sqrt(tau_s tau_t)`` (positive semi-definite by
construction). ``tau = 1`` for every sector is the one-factor model the closed-form and exact
engines use. ``rho`` is the asset correlation, ``tau`` the sector factor's correlation with the
global factor (squared loading).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from data_contracts.errors import PortfolioError


@dataclass(frozen=True)
class CorrelationStructure:
    """``asset_correlation`` (rho, default for every sector) in [0, 1); ``sector_correlation`` (tau,
    default for every sector) in [0, 1]; ``sectors`` maps a sector name to overrides
    ``{"asset_correlation": rho_s, "sector_correlation": tau_s}``."""

    asset_correlation: float = 0.2
    sector_correlation: float = 1.0
    sectors: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_correlation(self.asset_correlation, "asset_correlation")
        check_correlation(self.sector_correlation, "sector_correlation", upper_inclusive=True)
        for name, over in self.sectors.items():
            unknown = set(over) - {"asset_correlation", "sector_correlation"}
            if unknown:
                raise PortfolioError(f"correlation.sectors.{name}: unknown key(s) {sorted(unknown)}")
            if "asset_correlation" in over:
                check_correlation(over["asset_correlation"], f"sectors.{name}.asset_correlation")
            if "sector_correlation" in over:
                check_correlation(over["sector_correlation"], f"sectors.{name}.sector_correlation", upper_inclusive=True)

    def rho(self, sector: str) -> float:
        return float(self.sectors.get(sector, {}).get("asset_correlation", self.asset_correlation))

    def tau(self, sector: str) -> float:
        return float(self.sectors.get(sector, {}).get("sector_correlation", self.sector_correlation))

    def loan_rho(self, sectors: tuple[str, ...], codes: NDArray[np.int64]) -> NDArray[np.float64]:
        """Asset correlation per loan, shape (n_loans,)."""
        return np.array([self.rho(s) for s in sectors], float)[codes]

    def sector_taus(self, sectors: tuple[str, ...]) -> NDArray[np.float64]:
        return np.array([self.tau(s) for s in sectors], float)

    def is_one_factor(self, sectors: tuple[str, ...]) -> bool:
        """True when every sector factor equals the global factor (tau = 1), or rho is 0 anyway."""
        return all(self.tau(s) == 1.0 or self.rho(s) == 0.0 for s in sectors)

    def as_dict(self) -> dict:
        return {"asset_correlation": self.asset_correlation, "sector_correlation": self.sector_correlation,
                "sectors": {k: dict(v) for k, v in self.sectors.items()}}


def check_correlation(value: float, name: str, upper_inclusive: bool = False) -> None:
    """Raise :class:`PortfolioError` unless ``value`` is in [0, 1) (or [0, 1])."""
    ok = value is not None and np.isfinite(value) and 0.0 <= value and (value <= 1.0 if upper_inclusive else value < 1.0)
    if not ok:
        rng = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise PortfolioError(f"correlation: {name} must be in {rng}; got {value!r}")
