"""Tranche figures from a pool loss distribution and an enhancement waterfall.

A tranche [A, D] (fractions of notes notional) loses ``((g - A)+ - (g - D)+) / (D - A)`` of its
notional when the notes lose ``g``. Expected loss (EL) is the mean of that; probability of loss (PoL)
is P(g > A). A zero-width tranche (A = D) has EL = PoL = P(g > A) (its limit). With a coupon ``c``
(fraction over the horizon, paid on the notional that survives), the expected return is
``(1 + c)(1 - EL) - 1`` and the break-even pool default rate is the fraction of pool notional that
must default (at the pool's loss-weighted LGD) before the tranche's loss eats its coupon:
``loss = c / (1 + c)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_contracts.errors import PortfolioError
from models.portfolio.distribution import LossDistribution
from models.portfolio.waterfall import Enhancement


@dataclass(frozen=True)
class TrancheSpec:
    """A tranche: ``attachment`` <= ``detachment`` in [0, 1]; optional ``name`` and ``coupon``."""

    attachment: float
    detachment: float
    name: str | None = None
    coupon: float | None = None


def check_attachment_points(points: Sequence[float]) -> tuple[float, ...]:
    """Attachment points must be in [0, 1] and strictly increasing (e.g. 0, 0.03, 0.07, 1)."""
    pts = tuple(float(p) for p in points)
    if len(pts) < 2:
        raise PortfolioError(f"tranches: need at least two attachment points (e.g. 0,0.03,1); got {list(pts)}")
    bad = [p for p in pts if not (np.isfinite(p) and 0.0 <= p <= 1.0)]
    if bad:
        raise PortfolioError(f"tranches: attachment points must be in [0, 1]; got {bad}")
    if any(b <= a for a, b in zip(pts, pts[1:])):
        raise PortfolioError(f"tranches: attachment points must be strictly increasing; got {list(pts)}")
    return pts


def tranches_from_points(points: Sequence[float], coupons: Sequence[float] | None = None,
                         names: Sequence[str] | None = None) -> list[TrancheSpec]:
    """Tranches between consecutive points, most senior first."""
    pts = check_attachment_points(points)
    n = len(pts) - 1
    if coupons is not None and len(coupons) != n:
        raise PortfolioError(f"tranches: {len(coupons)} coupon(s) given for {n} tranche(s)")
    if names is None:
        names = default_names(n)
    specs = [TrancheSpec(pts[i], pts[i + 1], names[i], None if coupons is None else float(coupons[i])) for i in range(n)]
    return specs[::-1]


def default_names(n: int) -> list[str]:
    """Names from the most junior up: first_loss, mezzanine(s), senior."""
    if n == 1:
        return ["pass_through"]
    if n == 2:
        return ["first_loss", "senior"]
    mids = ["mezzanine"] if n == 3 else [f"mezzanine_{i}" for i in range(1, n - 1)]
    return ["first_loss", *mids, "senior"]


def tranche_loss_terms(enh: Enhancement, a: float, d: float):
    """Calls on pool loss whose expectation is the tranche's EL (fraction of tranche notional)."""
    width = d - a
    return [(c / width, k) for c, k in enh.calls(a)] + [(-c / width, k) for c, k in enh.calls(d)]


def expected_loss(dist: LossDistribution, enh: Enhancement, a: float, d: float) -> tuple[float, float | None]:
    """Tranche EL as a fraction of its notional, with standard error (None if exact)."""
    if d - a <= 1e-12:
        return probability_of_loss(dist, enh, a)
    est, se = dist.expect_calls(tranche_loss_terms(enh, a, d))
    return float(min(max(est, 0.0), 1.0)), se


def probability_of_loss(dist: LossDistribution, enh: Enhancement, a: float) -> tuple[float, float | None]:
    """P(notes loss > a)."""
    x = enh.pool_threshold(a)
    if not np.isfinite(x):
        return 0.0, (0.0 if dist.method == "mc" else None)
    return dist.sf(x)


def break_even_default_rate(enh: Enhancement, spec: TrancheSpec, pooled_lgd: float) -> float | None:
    """Pool default rate (fraction of notional) at which the tranche's loss equals c/(1+c); None if
    no default rate reaches it (or no coupon)."""
    if spec.coupon is None or pooled_lgd <= 0:
        return None
    k = spec.attachment + (spec.detachment - spec.attachment) * spec.coupon / (1.0 + spec.coupon)
    x = enh.pool_threshold(k)
    rate = x / pooled_lgd
    return float(rate) if np.isfinite(rate) and rate <= 1.0 else None


def tranche_row(dist: LossDistribution, enh: Enhancement, spec: TrancheSpec, notes_notional: float,
                pooled_lgd: float) -> dict:
    """One tranche's figures as a JSON-ready dict (money in the pool's currency)."""
    el, el_se = expected_loss(dist, enh, spec.attachment, spec.detachment)
    pol, pol_se = probability_of_loss(dist, enh, spec.attachment)
    size = spec.detachment - spec.attachment
    row = {
        "name": spec.name,
        "attachment": spec.attachment,
        "detachment": spec.detachment,
        "size": size,
        "notional": size * notes_notional,
        "expected_loss": el,
        "probability_of_loss": pol,
        "expected_loss_amount": el * size * notes_notional,
        "coupon": spec.coupon,
        "expected_return": None if spec.coupon is None else (1.0 + spec.coupon) * (1.0 - el) - 1.0,
        "break_even_default_rate": break_even_default_rate(enh, spec, pooled_lgd),
    }
    if el_se is not None:
        row["expected_loss_se"] = el_se
        row["probability_of_loss_se"] = pol_se
    return row
