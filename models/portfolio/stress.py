"""Stress scenarios: a downturn shift of the systematic factor, a PD multiplier, an LGD add-on and a
shock to one sector's PD and LGD. PD and LGD changes act on the pool (capped at 1); the factor shift
is passed to the engine, which moves the factor's mean (negative = downturn)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts.errors import PortfolioError
from models.portfolio.pool import Pool


@dataclass(frozen=True)
class StressScenario:
    """``factor_shift`` (standard deviations of the factor), ``pd_multiplier`` (>= 0),
    ``lgd_add_on`` (fraction added to LGD), and ``sector`` with ``sector_pd_multiplier`` /
    ``sector_lgd_add_on`` applied to that sector's loans on top."""

    name: str
    factor_shift: float = 0.0
    pd_multiplier: float = 1.0
    lgd_add_on: float = 0.0
    sector: str | None = None
    sector_pd_multiplier: float = 1.0
    sector_lgd_add_on: float = 0.0

    def __post_init__(self) -> None:
        if self.pd_multiplier < 0 or self.sector_pd_multiplier < 0:
            raise PortfolioError(f"stress '{self.name}': PD multipliers must be >= 0")
        if not (-1 <= self.lgd_add_on <= 1 and -1 <= self.sector_lgd_add_on <= 1):
            raise PortfolioError(f"stress '{self.name}': LGD add-ons must be in [-1, 1]")
        if not np.isfinite(self.factor_shift):
            raise PortfolioError(f"stress '{self.name}': factor_shift must be finite")

    def apply(self, pool: Pool) -> Pool:
        """The stressed pool (the factor shift is not applied here; see the engines)."""
        pd_ = pool.probability_of_default * self.pd_multiplier
        lgd = pool.loss_given_default + self.lgd_add_on
        if self.sector is not None:
            hit = pool.sector.astype(str) == self.sector
            if not hit.any():
                raise PortfolioError(f"stress '{self.name}': sector '{self.sector}' has no loans in the pool")
            pd_ = np.where(hit, pd_ * self.sector_pd_multiplier, pd_)
            lgd = np.where(hit, lgd + self.sector_lgd_add_on, lgd)
        return pool.replace(probability_of_default=np.clip(pd_, 0.0, 1.0), loss_given_default=np.clip(lgd, 0.0, 1.0))

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "factor_shift", "pd_multiplier", "lgd_add_on", "sector",
                                               "sector_pd_multiplier", "sector_lgd_add_on")}
