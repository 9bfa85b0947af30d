"""Demo-book outcomes: the latent default model (Vasicek, sector-by-year factor) and the disposal model.

Default: a loan defaults within its horizon iff ``sqrt(1-ρ)·ε + sqrt(ρ)·Z[sector, year] < c``, where
``c = b0 + scale·score`` and ``score`` is a nonlinear function of observable fields only (firm ratios,
age at origination, LTV, loan size against revenue, term, pledged patents' legal status). So the true
PD given the factor is ``Φ((c - sqrt(ρ)·Z) / sqrt(1-ρ))``; unconditionally it is ``Φ(c)``.

Disposal on default: the pledge sells with probability ``p_sold`` (logit-linear in pledge quality and
Z, anchored at ``sale_probability``); the price is Beta-distributed as a fraction of the pledge's
true value with mean ``m`` (logit-linear in quality and Z); recovery takes
``recovery_years_min + span·Beta(2, 3)`` years. LGD follows ``models.lgd.loss_given_default``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from models.lgd import discount_factor
from pipelines.demo_book_config import DemoBookConfig

SECTOR_EFFECT = {  # probit shift by sector (assumption: drug development and new energy are riskier)
    "ai_software": 0.05, "electronics_semiconductors": 0.0, "biotech_pharma": 0.15, "medical_devices": -0.02,
    "new_materials": 0.0, "advanced_manufacturing": -0.05, "new_energy": 0.10, "information_telecom": 0.0,
}
OWNERSHIP_EFFECT = {"private": 0.0, "mixed": -0.05, "state_owned": -0.15, "foreign_invested": -0.05}
# Disposal sensitivities (assumption): per unit of pledge log-quality above the reference, and per unit of Z.
SALE_QUALITY_SLOPE, SALE_FACTOR_SLOPE = 0.8, 0.5
PRICE_QUALITY_SLOPE, PRICE_FACTOR_SLOPE = 0.5, 0.25
RECOVERY_BETA = (2.0, 3.0)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)  # error < 1e-6 against 48 nodes


def pd_score(f: pd.DataFrame) -> np.ndarray:
    """Latent default score (probit units, before intercept and scale), one value per loan.

    ``f`` has one row per loan with the firm's columns plus ``age_years`` (firm age at origination),
    ``ltv`` (amount / appraised pledge), ``amount``, ``term_months`` and ``non_granted_share``
    (appraised-value share of pledged patents not granted). Each term is monotone in the direction
    the contracts declare; non-monotone shapes use only fields without a declared direction
    (firm age, R&D intensity).
    """
    lev = f["liabilities_to_assets"].to_numpy(float)
    roa = f["net_profit_to_assets"].to_numpy(float)
    cr = f["current_ratio"].to_numpy(float)
    cov = f["interest_coverage"].to_numpy(float)
    age = f["age_years"].to_numpy(float)
    rd = f["rd_intensity"].to_numpy(float)
    revenue = np.maximum(f["revenue"].to_numpy(float), 1.0e4)
    s = (
        1.1 * (lev - 0.45) + 1.5 * np.maximum(lev - 0.8, 0.0)
        - 3.0 * np.clip(roa, -0.5, 0.3)
        + 4.0 * np.maximum(lev - 0.5, 0.0) * np.maximum(0.02 - roa, 0.0)  # leverage hurts more when losing money
        + 0.55 * np.log1p(f["overdue_events_12m"].to_numpy(float))
        + 0.5 * np.maximum(1.2 - cr, 0.0)
        - 0.3 * np.clip(f["working_capital_to_assets"].to_numpy(float), -1.0, 1.0)
        - 0.4 * np.clip(f["retained_earnings_to_assets"].to_numpy(float), -1.0, 1.0)
        - 0.35 * np.tanh(2.0 * f["sales_growth"].to_numpy(float))
        - 0.10 * np.log(revenue / 3.0e7)
        - 0.05 * np.log(np.maximum(f["total_assets"].to_numpy(float), 1.0) / 2.5e7)
        - 0.10 * np.where(np.isnan(cov), 1.5, np.clip(np.log1p(np.maximum(np.nan_to_num(cov), 0.0)), 0.0, 3.0))
        + 0.45 * np.maximum(3.0 - age, 0.0) / 3.0 + 0.03 * np.maximum(age - 15.0, 0.0)  # U-shape in age
        + np.minimum(0.12 * np.log(np.maximum(rd, 1e-3) / 0.08) ** 2, 0.5)  # too little or too much R&D
        - 0.20 * f["high_tech_certified"].to_numpy(float)
        - 0.15 * f["statements_audited"].to_numpy(float)
        + f["sector"].map(SECTOR_EFFECT).to_numpy(float)
        + f["ownership_type"].map(OWNERSHIP_EFFECT).to_numpy(float)
        + 1.2 * np.maximum(f["ltv"].to_numpy(float) - 0.30, 0.0)
        + 0.30 * np.log1p(f["amount"].to_numpy(float) / revenue)
        + 0.25 * np.log(f["term_months"].to_numpy(float) / 12.0)
        + 0.8 * f["non_granted_share"].to_numpy(float)
    )
    return s


def solve_intercept(score: np.ndarray, scale: float, target: float) -> float:
    """Intercept ``b0`` such that ``mean(Φ(b0 + scale·score)) == target``."""
    z = scale * score
    return float(optimize.brentq(lambda b: special.ndtr(b + z).mean() - target, -15.0, 15.0, xtol=1e-10))


def sector_year_factors(
    sector_idx: np.ndarray, year_idx: np.ndarray, n_sectors: int, n_years: int, rng: np.random.Generator
) -> np.ndarray:
    """Z per (sector, year), N(0, 1) drawn independently, then centred within each year on the loans'
    sector weights so the book-wide yearly default rate does not drift (only sectors move against each
    other). Returns shape (n_sectors, n_years)."""
    z = rng.standard_normal((n_sectors, n_years))
    counts = np.zeros((n_sectors, n_years))
    np.add.at(counts, (sector_idx, year_idx), 1.0)
    w = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1.0)
    return z - (w * z).sum(axis=0, keepdims=True)


def balance_years(
    zmat: np.ndarray, c: np.ndarray, sector_idx: np.ndarray, year_idx: np.ndarray, rho: float
) -> np.ndarray:
    """Shift each year's column of ``zmat`` by the constant that makes the year's mean conditional PD
    equal its mean unconditional PD ``mean Φ(c)`` (removes the residual year effect the centring
    leaves through the nonlinearity of Φ and the sectors' different PDs). Returns the shifted matrix."""
    out = zmat.copy()
    for y in np.unique(year_idx):
        sel = year_idx == y
        cy, zy = c[sel], zmat[sector_idx[sel], y]
        target = special.ndtr(cy).mean()
        shift = optimize.brentq(lambda d, cy=cy, zy=zy, target=target: conditional_pd(cy, zy + d, rho).mean() - target,
                                -5.0, 5.0, xtol=1e-12)
        out[:, y] += shift
    return out


def conditional_pd(c: np.ndarray, z: np.ndarray, rho: float) -> np.ndarray:
    """Vasicek PD given the factor: ``Φ((c - sqrt(ρ)·Z) / sqrt(1-ρ))``."""
    return special.ndtr((c - np.sqrt(rho) * z) / np.sqrt(1.0 - rho))


@dataclass(frozen=True)
class Disposal:
    """Per-loan disposal parameters: sale probability and Beta(a, b) of the price fraction of true value."""

    p_sold: np.ndarray
    a: np.ndarray
    b: np.ndarray


def disposal_params(quality: np.ndarray, z: np.ndarray, cfg: DemoBookConfig) -> Disposal:
    """``quality``: pledge log-quality minus its reference (0 = average pledge); ``z``: the loan's factor."""
    p_sold = special.expit(special.logit(cfg.sale_probability) + SALE_QUALITY_SLOPE * quality + SALE_FACTOR_SLOPE * z)
    m = special.expit(special.logit(cfg.sale_price_mean) + PRICE_QUALITY_SLOPE * quality + PRICE_FACTOR_SLOPE * z)
    k = cfg.sale_price_concentration
    return Disposal(p_sold=p_sold, a=m * k, b=(1.0 - m) * k)


def expected_lgd(
    ead: np.ndarray, true_value: np.ndarray, disp: Disposal, kept: np.ndarray, cfg: DemoBookConfig,
    surviving: Callable[[float, float], np.ndarray] | None = None,
) -> np.ndarray:
    """E[realised LGD] under the disposal model, exact in the price (incomplete beta) and by 16-node
    Gauss-Legendre quadrature over the recovery time (8 nodes; error below 1e-6).

    LGD = kept · max(1 - x·V·DF(t)/EAD, 0) if sold, ``kept`` if not (``kept`` = 1 - enhancement
    share). For x ~ Beta(a, b) with mean m and k = V·DF/EAD: E[max(1 - kx, 0)] = 1 - k·m if k ≤ 1,
    else I(1/k; a, b) - k·m·I(1/k; a+1, b).

    ``surviving(u, t)``: the share (n,) of the pledge's true value still in force when a loan that
    defaults at fraction ``u`` of its term recovers ``t`` years later (rights that lapsed or expired
    sell for nothing); integrated over the Beta(2, 2) default time with 4 more Gauss-Legendre nodes.
    ``V`` is then the expected surviving value (first order in the lapses: a pledge's random
    surviving share is replaced by its mean). None: every right survives.
    """
    m = disp.a / (disp.a + disp.b)
    u = 0.5 * (_GL_NODES + 1.0)  # nodes on [0, 1]
    ab = RECOVERY_BETA
    pdf = u ** (ab[0] - 1) * (1 - u) ** (ab[1] - 1) / special.beta(*ab)
    w = 0.5 * _GL_WEIGHTS * pdf
    w = w / w.sum()
    t = cfg.recovery_years_min + (cfg.recovery_years_max - cfg.recovery_years_min) * u
    df = discount_factor(t, cfg.discount_rate)  # (nodes,)
    sold_part = np.zeros(len(ead))
    ratio = true_value / np.maximum(ead, 1e-9)
    if surviving is None:
        default_nodes = [(0.5, 1.0)]
    else:
        du, dw = np.polynomial.legendre.leggauss(4)
        du = 0.5 * (du + 1.0)
        dw = 0.5 * dw * 6.0 * du * (1.0 - du)  # Beta(2, 2) density
        default_nodes = list(zip(du, dw / dw.sum()))
    for ud, wd in default_nodes:
        for tj, dfj, wj in zip(t, df, w):
            k = ratio * dfj * (1.0 if surviving is None else surviving(ud, tj))
            term = 1.0 - k * m
            big = k > 1.0
            a, b, kb = disp.a[big], disp.b[big], k[big]
            term[big] = special.betainc(a, b, 1.0 / kb) - kb * m[big] * special.betainc(a + 1.0, b, 1.0 / kb)
            sold_part += wd * wj * term
    return np.clip(kept * ((1.0 - disp.p_sold) + disp.p_sold * np.clip(sold_part, 0.0, 1.0)), 0.0, 1.0)
