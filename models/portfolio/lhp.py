"""Large homogeneous pool (Vasicek): the pool loss fraction in closed form.

With ``c = Phi^-1(PD)``, asset correlation ``rho`` and systematic factor ``Z ~ N(shift, 1)``, an
infinitely granular pool loses ``L = LGD * Phi((c - sqrt(rho) Z) / sqrt(1 - rho))`` of its notional.
A shift of the factor is the same as moving ``c`` to ``c - sqrt(rho) * shift``. A heterogeneous pool
is approximated by its exposure-weighted PD and loss-weighted LGD (see :class:`~models.portfolio.pool.Pool`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri
from scipy.stats import norm

from models.portfolio.distribution import Calls
from models.portfolio.gaussian import bivariate_normal_cdf


@dataclass(frozen=True)
class VasicekLoss:
    """The Vasicek pool loss distribution. ``pd``, ``lgd`` fractions in [0, 1]; ``rho`` in [0, 1);
    ``factor_shift`` is the mean of the systematic factor (negative = downturn)."""

    pd: float
    lgd: float
    rho: float
    factor_shift: float = 0.0
    method: str = "lhp"

    @property
    def _c(self) -> float:
        return float(ndtri(self.pd)) - np.sqrt(self.rho) * self.factor_shift

    @property
    def _degenerate(self) -> float | None:
        """The constant loss if the distribution is a point mass, else None."""
        if self.lgd == 0 or self.pd == 0:
            return 0.0
        if self.pd == 1:
            return self.lgd
        if self.rho == 0:
            return self.lgd * float(ndtr(self._c))
        return None

    # -- closed forms ----------------------------------------------------------------
    def cdf(self, x: ArrayLike) -> NDArray[np.float64]:
        """P(L <= x)."""
        x = np.asarray(x, float)
        d = self._degenerate
        if d is not None:
            return np.where(x >= d, 1.0, 0.0)
        k = np.clip(x / self.lgd, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            a = (np.sqrt(1 - self.rho) * ndtri(k) - self._c) / np.sqrt(self.rho)
        return np.where(x >= self.lgd, 1.0, np.where(x < 0, 0.0, ndtr(a)))

    def density(self, x: ArrayLike) -> NDArray[np.float64]:
        """dP(L <= x)/dx for 0 < x < LGD (0 elsewhere; a point mass has no density)."""
        x = np.asarray(x, float)
        if self._degenerate is not None:
            return np.zeros_like(x)
        k = np.clip(x / self.lgd, 1e-300, 1 - 1e-16)
        q = ndtri(k)
        a = (np.sqrt(1 - self.rho) * q - self._c) / np.sqrt(self.rho)
        f = np.sqrt((1 - self.rho) / self.rho) * norm.pdf(a) / norm.pdf(q) / self.lgd
        return np.where((x > 0) & (x < self.lgd), f, 0.0)

    def quantile(self, q: float) -> float:
        """Smallest x with P(L <= x) >= q: ``LGD * Phi((c + sqrt(rho) Phi^-1(q)) / sqrt(1 - rho))``."""
        d = self._degenerate
        if d is not None:
            return d
        return float(self.lgd * ndtr((self._c + np.sqrt(self.rho) * ndtri(q)) / np.sqrt(1 - self.rho)))

    def mean(self):
        d = self._degenerate
        return (d if d is not None else self.lgd * float(ndtr(self._c))), None

    def sf(self, x: float):
        return float(1.0 - self.cdf(x)), None

    def call_price(self, x: float) -> float:
        """E[(L - x)+] = LGD * (Phi2(c, z_k; sqrt(rho)) - k * Phi(z_k)), k = x / LGD, z_k the factor
        level below which the pool loses more than x."""
        d = self._degenerate
        if d is not None:
            return max(d - x, 0.0)
        if x <= 0:
            return self.mean()[0] - x
        k = x / self.lgd
        if k >= 1:
            return 0.0
        zk = (self._c - np.sqrt(1 - self.rho) * ndtri(k)) / np.sqrt(self.rho)
        val = self.lgd * (bivariate_normal_cdf(self._c, zk, np.sqrt(self.rho)) - k * ndtr(zk))
        return float(max(val, 0.0))

    def expect_calls(self, calls: Calls):
        return sum(coef * self.call_price(k) for coef, k in calls if np.isfinite(k)), None

    def curve(self):
        top = self.quantile(1 - 1e-5) if self._degenerate is None else max(self._degenerate * 2, 1e-3)
        x = np.linspace(0, max(top, 1e-6), 400)[1:]
        return x, self.density(x), "density"


def basel_irb_capital(pd_: ArrayLike, lgd: ArrayLike, rho: ArrayLike, confidence: float = 0.999) -> NDArray[np.float64]:
    """Basel IRB capital requirement K per unit exposure (no maturity adjustment):
    ``LGD * Phi((Phi^-1(PD) + sqrt(R) Phi^-1(0.999)) / sqrt(1 - R)) - PD * LGD``."""
    pd_, lgd, rho = (np.asarray(a, float) for a in (pd_, lgd, rho))
    return lgd * ndtr((ndtri(pd_) + np.sqrt(rho) * ndtri(confidence)) / np.sqrt(1 - rho)) - pd_ * lgd


def basel_corporate_correlation(pd_: ArrayLike) -> NDArray[np.float64]:
    """Basel II corporate asset correlation R(PD) = 0.12 w + 0.24 (1 - w), w = (1 - e^-50PD)/(1 - e^-50)."""
    w = (1 - np.exp(-50 * np.asarray(pd_, float))) / (1 - np.exp(-50))
    return 0.12 * w + 0.24 * (1 - w)
