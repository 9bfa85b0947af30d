"""One entry point for the CLI and the service: a pool and a request in, the tranche table out.

``evaluate_pool(pool, request)`` builds the pool loss distribution with the chosen engine, sizes
tranches to investor-class targets (or takes the given ones), prices each tranche, and repeats the
pricing of the same tranches under each stress scenario. ``TrancheResult.as_dict()`` is the JSON
both the CLI (``--json``) and the service return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from data_contracts.errors import PortfolioError
from data_contracts.jsonable import jsonable
from models.portfolio.correlation import CorrelationStructure
from models.portfolio.distribution import LossDistribution
from models.portfolio.finite_pool import ExactConfig, exact_loss
from models.portfolio.lhp import VasicekLoss
from models.portfolio.monte_carlo import ChunkRunner, MonteCarloConfig, simulate_losses
from models.portfolio.pool import Pool
from models.portfolio.sizing import InvestorClass, measure, size_tranches
from models.portfolio.stress import StressScenario
from models.portfolio.tranches import TrancheSpec, tranche_row
from models.portfolio.waterfall import Enhancement

Method = Literal["lhp", "exact", "mc"]
METHODS: tuple[str, ...] = ("lhp", "exact", "mc")
QUANTILES: tuple[float, ...] = (0.99, 0.999)


@dataclass(frozen=True)
class TrancheRequest:
    """What to evaluate. Give ``tranches`` (evaluate them) or ``classes`` (size tranches to their
    targets), not both. ``method``: "lhp" (large homogeneous pool), "exact" (finite pool) or "mc"."""

    method: Method = "exact"
    correlation: CorrelationStructure = field(default_factory=CorrelationStructure)
    tranches: tuple[TrancheSpec, ...] | None = None
    classes: tuple[InvestorClass, ...] | None = None
    enhancement: Enhancement = field(default_factory=Enhancement)
    stress: tuple[StressScenario, ...] = ()
    monte_carlo: MonteCarloConfig = field(default_factory=MonteCarloConfig)
    exact: ExactConfig = field(default_factory=ExactConfig)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise PortfolioError(f"tranches: method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if (self.tranches is None) == (self.classes is None):
            raise PortfolioError("tranches: give either tranches (attachment points) or investor-class targets, not both or neither")


@dataclass(frozen=True, eq=False)
class TrancheResult:
    """The tranche table (most senior first), the pool's figures and each stress scenario's table.
    ``distribution`` (base case) and ``scenario_distributions`` (one per stress scenario, in order)
    are kept for plots and are not part of :meth:`as_dict`."""

    method: str
    currency: str
    pool: dict[str, Any]
    tranches: list[dict[str, Any]]
    scenarios: list[dict[str, Any]]
    settings: dict[str, Any]
    distribution: LossDistribution
    enhancement: Enhancement
    scenario_distributions: tuple[LossDistribution, ...] = ()

    @property
    def expected_loss(self) -> float:
        return self.pool["expected_loss"]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "currency": self.currency,
                               "expected_loss": self.pool["expected_loss"]}
        if "expected_loss_se" in self.pool:
            out["expected_loss_se"] = self.pool["expected_loss_se"]
        out.update(pool=self.pool, tranches=self.tranches, scenarios=self.scenarios, settings=self.settings)
        return jsonable(out)


def loss_distribution(pool: Pool, request: TrancheRequest, factor_shift: float = 0.0,
                      progress: Callable[[int], None] | None = None, runner: ChunkRunner | None = None) -> LossDistribution:
    """The pool loss distribution (fractions of notional) from the request's engine; ``runner``
    (Monte Carlo only) runs the path chunks elsewhere, e.g. on a Dask cluster (same figures)."""
    names, codes = pool.sectors()
    corr = request.correlation
    rho_loan = corr.loan_rho(names, codes)
    if request.method in ("lhp", "exact") and not corr.is_one_factor(names):
        raise PortfolioError(
            f"tranches: sector factors (sector_correlation < 1) need --method mc; the {request.method} engine has one factor")
    if request.method == "lhp":
        rhos = np.unique(rho_loan)
        if rhos.size > 1:
            raise PortfolioError(f"tranches: the lhp engine needs one asset correlation; sectors have {rhos.tolist()}")
        return VasicekLoss(pool.pooled_pd, pool.pooled_lgd, float(rhos[0]), factor_shift)
    if request.method == "exact":
        return exact_loss(pool.weights, pool.probability_of_default, pool.loss_given_default, rho_loan,
                          factor_shift, request.exact)
    return simulate_losses(pool.weights, pool.probability_of_default, pool.loss_given_default, pool.lgd_volatility,
                           codes, np.array([corr.rho(s) for s in names]), corr.sector_taus(names),
                           factor_shift, request.monte_carlo, progress, runner)


def _pool_figures(pool: Pool, dist: LossDistribution) -> dict[str, Any]:
    el, el_se = dist.mean()
    out = {"loans": pool.n_loans, "notional": pool.notional, "currency": pool.currency,
           "expected_loss": el, "expected_loss_amount": el * pool.notional,
           "pooled_probability_of_default": pool.pooled_pd, "pooled_loss_given_default": pool.pooled_lgd,
           "loss_quantiles": {str(q): dist.quantile(q) for q in QUANTILES}}
    if el_se is not None:
        out["expected_loss_se"] = el_se
    return out


def _table(dist: LossDistribution, pool: Pool, request: TrancheRequest, specs: list[TrancheSpec]) -> list[dict]:
    enh = request.enhancement
    notes = pool.notional * (1.0 - enh.overcollateralisation)
    rows = [tranche_row(dist, enh, s, notes, pool.pooled_lgd) for s in specs]
    if request.classes is not None:
        by_name = {c.name: c for c in request.classes}
        for row in rows:
            c = by_name[row["name"]]
            row["investor"] = c.investor
            row["target_basis"] = c.basis
            row["target"] = c.target
            row["meets_target"] = (None if c.basis is None else
                                   bool(measure(dist, enh, c.basis, row["attachment"], row["detachment"]) <= c.target + 1e-12))
    return rows


def evaluate_pool(pool: Pool, request: TrancheRequest, progress: Callable[[int], None] | None = None,
                  runner: ChunkRunner | None = None) -> TrancheResult:
    """Price (or size, then price) the tranches of ``pool``; each stress scenario re-prices the same
    tranches. ``progress`` (Monte Carlo only) receives the paths finished per chunk; ``runner``
    (Monte Carlo only) runs the path chunks (default: threads of this process)."""
    dist = loss_distribution(pool, request, 0.0, progress, runner)
    specs = list(request.tranches) if request.tranches is not None else size_tranches(dist, request.enhancement, request.classes)
    scenarios, scenario_dists = [], []
    for sc in request.stress:
        stressed = sc.apply(pool)
        d = loss_distribution(stressed, request, sc.factor_shift, progress, runner)
        scenario_dists.append(d)
        scenarios.append({"scenario": sc.as_dict(), **_pool_figures(stressed, d), "tranches": _table(d, stressed, request, specs)})
    settings: dict[str, Any] = {"correlation": request.correlation.as_dict(), "enhancement": request.enhancement.as_dict()}
    if request.method == "mc":
        mc = request.monte_carlo
        settings["monte_carlo"] = {"paths": dist.paths, "seed": mc.seed, "variance_reduction": mc.variance_reduction,
                                   "stochastic_lgd": mc.stochastic_lgd, "lgd_factor_loading": mc.lgd_factor_loading}
    if request.method == "exact":
        settings["exact"] = {"quadrature_nodes": request.exact.quadrature_nodes, "grid_points": request.exact.grid_points}
    return TrancheResult(request.method, pool.currency, _pool_figures(pool, dist), _table(dist, pool, request, specs),
                         scenarios, settings, dist, request.enhancement, tuple(scenario_dists))
