"""Credit-decision arithmetic: expected loss, master scale, loan limit, risk-based price, recommendation.

Plain functions over numpy arrays (broadcasting) with frozen configs. Units: money in the loan's
currency (CNY for this product, but every function is unit-free: scaling all money inputs by the
same factor scales money outputs by it and leaves rates unchanged); PD, LGD, LTV and rates are
fractions; rates are per year unless the name says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pandas import DataFrame, Series
from scipy.stats import norm

from data_contracts.errors import ContractError, ModelError
from models.lgd import loss_given_default

LgdAtAmount = Callable[[NDArray[np.float64]], ArrayLike]


def _pd_array(pd_: ArrayLike, name: str = "probability_of_default") -> NDArray[np.float64]:
    p = np.asarray(pd_, dtype=float)
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise ModelError(f"{name}: {int(bad.sum())} value(s) outside [0, 1] or missing; e.g. {p[bad].ravel()[:5].tolist()}")
    return p


# --------------------------------------------------------------------------- expected loss
def expected_loss(pd: ArrayLike, lgd: ArrayLike, ead: ArrayLike) -> NDArray[np.float64]:
    """Expected loss in currency: ``PD × LGD × EAD`` (broadcast)."""
    return np.asarray(pd, float) * np.asarray(lgd, float) * np.asarray(ead, float)


# --------------------------------------------------------------------------- master scale
@dataclass(frozen=True)
class MasterScale:
    """Rating master scale with geometric PD bands.

    ``n_grades`` non-default grades (default 12; corporate scales have 10–20) split
    [``pd_floor``, ``pd_top``] geometrically: grade k covers [b_{k-1}, b_k) with
    ``b_k = pd_floor·(pd_top/pd_floor)^(k/n)``. PDs below the floor (default 0.0003, Basel II's
    floor) fall in the best grade; PDs from ``pd_top`` (default 0.40) up to ``default_pd`` fall in
    the worst non-default grade; PD ≥ ``default_pd`` (default 1.0: an obligor in default) gets
    ``default_label`` ('D'). ``labels`` names the non-default grades best first (empty: "1"…"n").
    """

    n_grades: int = 12
    pd_floor: float = 0.0003
    pd_top: float = 0.40
    default_pd: float = 1.0
    default_label: str = "D"
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.n_grades < 7:
            raise ContractError(f"settings section 'master_scale': n_grades={self.n_grades} (at least 7 non-default grades are expected)")
        if not 0 < self.pd_floor < self.pd_top < self.default_pd <= 1:
            raise ContractError(
                f"settings section 'master_scale': need 0 < pd_floor < pd_top < default_pd <= 1, got "
                f"{self.pd_floor}, {self.pd_top}, {self.default_pd}"
            )
        if self.labels and (len(self.labels) != self.n_grades or len(set(self.labels) | {self.default_label}) != self.n_grades + 1):
            raise ContractError(f"settings section 'master_scale': labels {list(self.labels)} must be {self.n_grades} "
                                f"distinct names other than '{self.default_label}'")

    @property
    def grade_labels(self) -> tuple[str, ...]:
        """Non-default grade labels, best first."""
        return tuple(self.labels) if self.labels else tuple(str(k) for k in range(1, self.n_grades + 1))

    @property
    def boundaries(self) -> NDArray[np.float64]:
        """The n+1 band boundaries b_0 = pd_floor … b_n = pd_top."""
        return self.pd_floor * (self.pd_top / self.pd_floor) ** (np.arange(self.n_grades + 1) / self.n_grades)

    def band_table(self) -> DataFrame:
        """One row per grade (best first, default last): ``grade, lower, upper, midpoint``.

        ``midpoint`` is the geometric mean of the band's bounds (the PD a grade stands for)."""
        b = self.boundaries
        lower = np.r_[b[:-1], self.default_pd]
        upper = np.r_[b[1:], 1.0]
        mid = np.r_[np.sqrt(b[:-1] * b[1:]), 1.0]
        return DataFrame({"grade": list(self.grade_labels) + [self.default_label], "lower": lower, "upper": upper, "midpoint": mid})


def assign_grade(pd: ArrayLike, scale: MasterScale | None = None) -> NDArray[np.object_]:
    """Grade label per PD (array of str, same shape as ``pd``); raises ModelError on PDs outside [0, 1]."""
    s = scale or MasterScale()
    p = _pd_array(pd)
    idx = np.searchsorted(s.boundaries[1:-1], p, side="right")  # 0 … n-1
    labels = np.array(s.grade_labels + (s.default_label,), dtype=object)
    idx = np.where(p >= s.default_pd, s.n_grades, idx)
    return labels[idx]


def grade_midpoint(grades: ArrayLike, scale: MasterScale | None = None) -> NDArray[np.float64]:
    """The PD a grade stands for (band midpoint) per grade label."""
    t = (scale or MasterScale()).band_table().set_index("grade")["midpoint"]
    g = Series(np.asarray(grades, dtype=object).ravel())
    unknown = sorted(set(g) - set(t.index))
    if unknown:
        raise ModelError(f"master scale: unknown grade(s) {unknown[:5]}; known: {list(t.index)}")
    return g.map(t).to_numpy(float).reshape(np.shape(grades))


# --------------------------------------------------------------------------- loan limit
@dataclass(frozen=True)
class LimitsConfig:
    """Risk appetite for one loan (money in the loan's currency, CNY).

    ``max_el_rate`` = 0.02: expected loss over the loan's PD horizon per unit of exposure (EL/EAD);
    2% keeps the expected loss inside a typical SME lending margin. ``max_expected_loss`` =
    ¥300,000: absolute EL per loan (concentration: a ¥10m loan at 3% EL). ``max_amount`` = ¥50m:
    the product's largest ticket (72.5% of IP-pledge deals are under ¥10m). ``rel_tol`` = 1e-6:
    bisection stops when the bracket is this fraction of the amount; ``max_iter`` bounds it.
    """

    max_el_rate: float = 0.02
    max_expected_loss: float = 300_000.0
    max_amount: float = 50_000_000.0
    rel_tol: float = 1e-6
    max_iter: int = 100

    def __post_init__(self) -> None:
        if not (0 < self.max_el_rate <= 1 and self.max_expected_loss > 0 and self.max_amount > 0 and 0 < self.rel_tol < 1 and self.max_iter > 0):
            raise ContractError(f"settings section 'limits': values must be positive (max_el_rate in (0, 1], rel_tol in (0, 1)); got {self}")


class LoanLimit(NamedTuple):
    """Largest amount (currency) per loan and which constraint binds it:
    ``ltv`` (cap × appraised value), ``max_amount``, ``el_rate``, ``expected_loss``, or ``none_feasible``
    (even the smallest loan breaks the EL-rate limit: amount 0)."""

    amount: NDArray[np.float64]
    binding: NDArray[np.object_]


def _as_lgd_fn(lgd: LgdAtAmount | ArrayLike) -> LgdAtAmount:
    if callable(lgd):
        return lgd
    arr = np.asarray(lgd, float)
    return lambda amount: np.broadcast_to(arr, np.shape(amount))


def deterministic_lgd_fn(
    sale_proceeds: ArrayLike,
    years_to_recovery: ArrayLike,
    discount_rate: float | ArrayLike,
    guarantee_share: ArrayLike = 0.0,
    insurance_share: ArrayLike = 0.0,
    compensation_share: ArrayLike = 0.0,
) -> LgdAtAmount:
    """``amount → LGD`` for a known sale (closed form through ``models.lgd``), EAD = amount."""
    return lambda amount: loss_given_default(amount, sale_proceeds, years_to_recovery, discount_rate, guarantee_share, insurance_share, compensation_share)


def _bisect_largest(
    ok: Callable[[NDArray[np.float64]], NDArray[np.bool_]], lo: NDArray[np.float64], hi: NDArray[np.float64], rel_tol: float, max_iter: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bracket (lo, hi) of the largest x with ok(x), given ok(lo), not ok(hi), ok True-then-False;
    every ok(lo) holds on return and hi − lo ≤ rel_tol·hi."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(max_iter):
        active = (hi - lo) > rel_tol * hi
        if not active.any():
            break
        mid = 0.5 * (lo + hi)
        good = ok(mid)
        lo = np.where(active & good, mid, lo)
        hi = np.where(active & ~good, mid, hi)
    return lo, hi


def max_loan_amount(
    pd: ArrayLike,
    lgd: LgdAtAmount | ArrayLike,
    appraised_value: ArrayLike,
    ltv_cap: ArrayLike,
    limits: LimitsConfig | None = None,
) -> LoanLimit:
    """Largest loan amount (currency) with ``PD·LGD(A) ≤ max_el_rate``, ``PD·LGD(A)·A ≤
    max_expected_loss``, ``A ≤ ltv_cap × appraised_value`` and ``A ≤ max_amount``.

    ``lgd`` is an array (LGD not depending on amount) or a vectorised callable
    ``amount (n,) → LGD (n,)`` with LGD non-decreasing in amount (more debt against the same
    collateral); the feasible set is then an interval [0, A*] and A* is found by vectorised
    bisection to ``limits.rel_tol``. All array arguments broadcast to the number of loans.
    """
    lim = limits or LimitsConfig()
    p = _pd_array(pd)
    v = np.asarray(appraised_value, float)
    cap = np.asarray(ltv_cap, float)
    p, v, cap = np.broadcast_arrays(p, v, cap)
    shape = p.shape
    p, v, cap = (np.atleast_1d(a).astype(float).ravel() for a in (p, v, cap))
    fn = _as_lgd_fn(lgd)

    def lgd_at(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.broadcast_to(np.asarray(fn(a), float), a.shape)

    def ok(a: NDArray[np.float64]) -> NDArray[np.bool_]:
        el_rate = p * lgd_at(a)
        return (el_rate <= lim.max_el_rate) & (el_rate * a <= lim.max_expected_loss)

    ltv_limit = np.maximum(np.nan_to_num(cap * v, nan=0.0), 0.0)
    upper = np.minimum(ltv_limit, lim.max_amount)
    binding = np.where(ltv_limit <= lim.max_amount, "ltv", "max_amount").astype(object)
    at_upper = ok(upper)
    tiny = upper * lim.rel_tol
    at_tiny = ok(tiny) & (upper > 0)
    amount = np.where(at_upper, upper, 0.0)
    search = ~at_upper & at_tiny
    if search.any() and getattr(fn, "takes_rows", False):
        # only the searched loans are evaluated (each loan's bisection is its own: the same brackets)
        idx = np.flatnonzero(search)
        ps = p[idx]

        def ok_searched(a: NDArray[np.float64]) -> NDArray[np.bool_]:
            el_rate = ps * np.asarray(fn(a, rows=idx), float)
            return (el_rate <= lim.max_el_rate) & (el_rate * a <= lim.max_expected_loss)

        lo, hi = _bisect_largest(ok_searched, tiny[idx], upper[idx], lim.rel_tol, lim.max_iter)
        amount[idx] = lo
        el_rate_binds = ps * np.asarray(fn(hi, rows=idx), float) > lim.max_el_rate
        binding[idx] = np.where(el_rate_binds, "el_rate", "expected_loss")
    elif search.any():
        lo, hi = _bisect_largest(ok, np.where(search, tiny, 0.0), np.where(search, upper, 0.0), lim.rel_tol, lim.max_iter)
        amount = np.where(search, lo, amount)
        el_rate_binds = p * lgd_at(hi) > lim.max_el_rate
        binding = np.where(search, np.where(el_rate_binds, "el_rate", "expected_loss"), binding)
    binding = np.where(~at_upper & ~at_tiny & (upper > 0), "none_feasible", binding)
    return LoanLimit(amount.reshape(shape), binding.reshape(shape))


# --------------------------------------------------------------------------- pricing
@dataclass(frozen=True)
class PricingConfig:
    """Risk-based price components (fractions per year).

    ``funding_cost`` = 0.025: the bank's cost of funds (about the 1-year LPR less a spread).
    ``operating_cost`` = 0.010: servicing, appraisal and monitoring per unit of exposure.
    ``cost_of_capital`` = 0.10: return the bank needs on capital in excess of funding (hurdle).
    ``capital_multiplier`` = 1.3125: capital held per unit of Basel K (10.5% total ratio with the
    conservation buffer over the 8% minimum). ``pd_floor`` = 0.0003 (Basel II).
    ``pd_horizon_months`` = 12: the PD's horizon, used to turn it into an annual PD; 0 means the
    PD covers the loan's whole term. ``sme_turnover_adjustment`` = 0: Basel's correlation reduction
    for SMEs (up to 0.04), applied as given. ``confidence`` = 0.999 (Basel IRB).
    ``rate_cap`` = 0.24: the highest rate the product may charge (loans contract allows ≤ 0.36).
    """

    funding_cost: float = 0.025
    operating_cost: float = 0.010
    cost_of_capital: float = 0.10
    capital_multiplier: float = 1.3125
    pd_floor: float = 0.0003
    pd_horizon_months: int = 12
    sme_turnover_adjustment: float = 0.0
    confidence: float = 0.999
    rate_cap: float = 0.24

    def __post_init__(self) -> None:
        nonneg = (self.funding_cost, self.operating_cost, self.cost_of_capital, self.capital_multiplier, self.pd_floor,
                  self.pd_horizon_months, self.sme_turnover_adjustment)
        if min(nonneg) < 0 or not 0.5 < self.confidence < 1 or self.sme_turnover_adjustment > 0.04:
            raise ContractError(f"settings section 'pricing': negative value, confidence outside (0.5, 1) or sme_turnover_adjustment > 0.04 in {self}")


def annual_pd(pd: ArrayLike, horizon_months: ArrayLike) -> NDArray[np.float64]:
    """Annual PD from a PD over ``horizon_months``: ``1 − (1 − PD)^(12/h)``."""
    p = _pd_array(pd)
    h = np.maximum(np.asarray(horizon_months, float), 1e-9)
    with np.errstate(divide="ignore"):
        return -np.expm1(np.log1p(-np.minimum(p, 1.0)) * 12.0 / h)


def irb_capital(pd: ArrayLike, lgd: ArrayLike, maturity_years: ArrayLike, pd_floor: float = 0.0003, confidence: float = 0.999,
                correlation_adjustment: float = 0.0) -> NDArray[np.float64]:
    """Basel IRB corporate capital requirement K per unit of exposure (Vasicek one-factor model).

    ``R = 0.12·w + 0.24·(1−w) − adj`` with ``w = (1−e^{−50·PD})/(1−e^{−50})``; ``b = (0.11852 −
    0.05478·ln PD)²``; ``K = [LGD·Φ((Φ⁻¹(PD) + √R·Φ⁻¹(q))/√(1−R)) − PD·LGD]·(1 + (M−2.5)·b)/(1−1.5·b)``,
    M clipped to [1, 5] years, PD floored; K → 0 as PD → 1 (the loss is then expected, not unexpected).
    """
    p = np.clip(_pd_array(pd), pd_floor, 1.0 - 1e-12)
    lg = np.clip(np.asarray(lgd, float), 0.0, 1.0)
    m = np.clip(np.asarray(maturity_years, float), 1.0, 5.0)
    w = -np.expm1(-50.0 * p) / -np.expm1(-50.0)
    r = 0.12 * w + 0.24 * (1.0 - w) - correlation_adjustment
    b = (0.11852 - 0.05478 * np.log(p)) ** 2
    cond = norm.cdf((norm.ppf(p) + np.sqrt(r) * norm.ppf(confidence)) / np.sqrt(1.0 - r))
    k = (lg * cond - p * lg) * (1.0 + (m - 2.5) * b) / (1.0 - 1.5 * b)
    return np.maximum(k, 0.0)


def risk_based_price(pd: ArrayLike, lgd: ArrayLike, term_months: ArrayLike, config: PricingConfig | None = None) -> DataFrame:
    """Annual rate = funding + EL rate per year + capital cost + operating cost, per loan.

    Columns: ``annual_pd``, ``funding_cost``, ``expected_loss_rate`` (annual PD × LGD),
    ``capital_requirement`` (IRB K), ``capital_cost`` (K × capital_multiplier × cost_of_capital),
    ``operating_cost``, ``annual_rate`` (their sum) and ``above_rate_cap`` (bool). One row per loan.
    """
    c = config or PricingConfig()
    p, lg, t = np.broadcast_arrays(_pd_array(pd), np.asarray(lgd, float), np.asarray(term_months, float))
    p, lg, t = (np.atleast_1d(a).astype(float).ravel() for a in (p, lg, t))
    horizon = t if c.pd_horizon_months == 0 else np.full_like(t, float(c.pd_horizon_months))
    pa = annual_pd(p, horizon)
    el_rate = pa * np.clip(lg, 0.0, 1.0)
    k = irb_capital(pa, lg, t / 12.0, c.pd_floor, c.confidence, c.sme_turnover_adjustment)
    cap_cost = k * c.capital_multiplier * c.cost_of_capital
    rate = c.funding_cost + el_rate + cap_cost + c.operating_cost
    return DataFrame({
        "annual_pd": pa,
        "funding_cost": np.full_like(pa, c.funding_cost),
        "expected_loss_rate": el_rate,
        "capital_requirement": k,
        "capital_cost": cap_cost,
        "operating_cost": np.full_like(pa, c.operating_cost),
        "annual_rate": rate,
        "above_rate_cap": rate > c.rate_cap,
    })


# --------------------------------------------------------------------------- recommendation
@dataclass(frozen=True)
class DecisionConfig:
    """Thresholds for approve / refer / decline (fractions; grades are master-scale labels).

    Rules run in this order; the first that fires decides:
      decline — grade in ``decline_grades`` (default 'D'); PD ≥ ``decline_pd`` (0.15, the bottom of
      the scale's speculative tail); EL rate ≥ ``decline_el_rate`` (0.05); LTV > cap ×
      (1 + ``ltv_decline_tolerance``) (0.20: far over the cap);
      refer — grade in ``refer_grades`` (default none); PD ≥ ``refer_pd`` (0.06); EL rate >
      ``refer_el_rate`` (0.02, the limits' EL-rate appetite); LTV > cap;
      approve — otherwise (rule ``within_appetite``).
    """

    decline_pd: float = 0.15
    refer_pd: float = 0.06
    decline_el_rate: float = 0.05
    refer_el_rate: float = 0.02
    ltv_decline_tolerance: float = 0.20
    decline_grades: tuple[str, ...] = ("D",)
    refer_grades: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (0 < self.refer_pd <= self.decline_pd <= 1 and 0 < self.refer_el_rate <= self.decline_el_rate <= 1 and self.ltv_decline_tolerance >= 0):
            raise ContractError("settings section 'decision': need 0 < refer_pd <= decline_pd <= 1, "
                                f"0 < refer_el_rate <= decline_el_rate <= 1, ltv_decline_tolerance >= 0; got {self}")


class Recommendation(NamedTuple):
    """``decision`` ('approve' | 'refer' | 'decline') and the ``rule`` that decided, per loan."""

    decision: NDArray[np.object_]
    rule: NDArray[np.object_]


def _among(grades: NDArray[np.object_], labels: tuple[str, ...]) -> NDArray[np.bool_]:
    """``np.isin(grades, labels)`` for a handful of labels, without its set machinery (per call on
    one loan it cost more than the rest of ``recommend``)."""
    hit = np.zeros(grades.shape, bool)
    for label in labels:
        hit |= grades == label
    return hit


def recommend(pd: ArrayLike, el_rate: ArrayLike, ltv: ArrayLike, ltv_cap: ArrayLike, grade: ArrayLike, config: DecisionConfig | None = None) -> Recommendation:
    """Approve / refer / decline per loan with the deciding rule (arrays, at least 1-d, broadcast)."""
    c = config or DecisionConfig()
    p = np.atleast_1d(_pd_array(pd))
    e, l_, cap = (np.atleast_1d(np.asarray(a, float)) for a in (el_rate, ltv, ltv_cap))
    g = np.atleast_1d(np.asarray(grade, dtype=object))
    p, e, l_, cap, g = np.broadcast_arrays(p, e, l_, cap, g)
    rules: list[tuple[str, str, NDArray[np.bool_]]] = [
        ("decline", "grade_declined", _among(g, c.decline_grades)),
        ("decline", "pd_above_decline", p >= c.decline_pd),
        ("decline", "el_rate_above_decline", ~(e < c.decline_el_rate)),
        ("decline", "ltv_far_above_cap", ~(l_ <= cap * (1.0 + c.ltv_decline_tolerance))),
        ("refer", "grade_referred", _among(g, c.refer_grades)),
        ("refer", "pd_above_refer", p >= c.refer_pd),
        ("refer", "el_rate_above_refer", e > c.refer_el_rate),
        ("refer", "ltv_above_cap", l_ > cap),
    ]
    decision = np.full(p.shape, "approve", dtype=object)
    rule = np.full(p.shape, "within_appetite", dtype=object)
    decided = np.zeros(p.shape, bool)
    for d, name, hit in rules:
        new = hit & ~decided
        decision[new], rule[new] = d, name
        decided |= new
    return Recommendation(decision, rule)
