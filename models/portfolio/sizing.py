"""Size tranches to investor classes' targets: the lowest attachment that meets each target.

Classes are listed most senior first. Each class either has a PD-based target (probability that the
tranche is hit, P(notes loss > A) <= target, as S&P and Fitch size) or an EL-based target (tranche
expected loss <= target, as Moody's sizes). Working down from the top (detachment 1), each class's
attachment is the lowest A that meets its target given its detachment (the attachment of the class
above); both measures fall as A rises, so bisection finds it. The most junior class without a
target takes what is left down to 0. Monte Carlo targets are met by the point estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from data_contracts.errors import PortfolioError
from models.portfolio.distribution import LossDistribution
from models.portfolio.tranches import TrancheSpec, expected_loss, probability_of_loss
from models.portfolio.waterfall import Enhancement

Basis = Literal["probability_of_loss", "expected_loss"]


@dataclass(frozen=True)
class InvestorClass:
    """An investor class: ``basis`` of its target ("probability_of_loss" or "expected_loss", or
    None for the residual first-loss class), ``target`` (fraction), ``coupon`` (fraction over the
    horizon, optional), ``investor`` (who buys it)."""

    name: str
    basis: Basis | None = None
    target: float | None = None
    coupon: float | None = None
    investor: str | None = None

    def __post_init__(self) -> None:
        if self.basis not in (None, "probability_of_loss", "expected_loss"):
            raise PortfolioError(f"targets: class '{self.name}': basis must be probability_of_loss or expected_loss; got {self.basis!r}")
        if (self.basis is None) != (self.target is None):
            raise PortfolioError(f"targets: class '{self.name}': give both basis and target, or neither")
        if self.target is not None and not (0.0 <= self.target <= 1.0):
            raise PortfolioError(f"targets: class '{self.name}': target must be a fraction in [0, 1]; got {self.target}")


def measure(dist: LossDistribution, enh: Enhancement, basis: Basis, a: float, d: float) -> float:
    """The target's measure for tranche [a, d]."""
    if basis == "probability_of_loss":
        return probability_of_loss(dist, enh, a)[0]
    return expected_loss(dist, enh, a, d)[0]


def lowest_attachment(dist: LossDistribution, enh: Enhancement, basis: Basis, target: float, detachment: float,
                      tol: float = 1e-7) -> float:
    """Lowest A in [0, detachment) with measure(A) <= target; PortfolioError if none."""
    if measure(dist, enh, basis, 0.0, detachment) <= target:
        return 0.0
    hi = detachment - tol
    if hi <= 0 or measure(dist, enh, basis, hi, detachment) > target:
        raise PortfolioError(
            f"targets: no tranche below detachment {detachment:.4f} meets {basis} <= {target:g} "
            f"(even the thinnest top slice has {basis} {measure(dist, enh, basis, max(hi, 0.0), detachment):.3g})")
    lo = 0.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if measure(dist, enh, basis, mid, detachment) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def size_tranches(dist: LossDistribution, enh: Enhancement, classes: Sequence[InvestorClass]) -> list[TrancheSpec]:
    """Tranches for ``classes`` (most senior first), most senior first."""
    if not classes:
        raise PortfolioError("targets: no investor classes given")
    names = [c.name for c in classes]
    if len(set(names)) != len(names):
        raise PortfolioError(f"targets: class names must be unique; got {names}")
    for c in classes[:-1]:
        if c.basis is None:
            raise PortfolioError(f"targets: class '{c.name}' has no target; only the most junior class may go without")
    specs: list[TrancheSpec] = []
    detachment = 1.0
    for i, c in enumerate(classes):
        last = i == len(classes) - 1
        if last:
            a = 0.0
            if c.basis is not None and measure(dist, enh, c.basis, 0.0, detachment) > c.target + 1e-12:
                raise PortfolioError(
                    f"targets: the most junior class '{c.name}' [0, {detachment:.4f}] has {c.basis} "
                    f"{measure(dist, enh, c.basis, 0.0, detachment):.3g} > target {c.target:g}; no tranche can meet it")
        else:
            a = lowest_attachment(dist, enh, c.basis, c.target, detachment)
            if a <= 0.0:
                raise PortfolioError(
                    f"targets: class '{c.name}' meets its target from attachment 0, leaving nothing for the "
                    f"classes below it ({', '.join(x.name for x in classes[i + 1:])}); drop them or tighten the target")
        specs.append(TrancheSpec(a, detachment, c.name, c.coupon))
        detachment = a
    return specs
