"""Demo-book firms: sector, region, size and financial ratios with realistic marginals and correlations.

Gaussian copula on two latent factors — firm quality ``Q`` and firm size ``S`` (both N(0, 1)) —
plus idiosyncratic noise; fat tails come from Student-t(4) marginals for profitability and growth.
Ratios are built from one consistent balance sheet (liabilities, current assets, current
liabilities, interest-bearing debt), so leverage, liquidity, working capital and interest cover
agree with each other. Every figure is explained in docs/demo-data.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from pipelines import demo_book_priors as P


@dataclass(frozen=True)
class FirmDraw:
    """Firm columns (no ids, no founding date yet) and the latents the later stages use.

    ``frame`` has one row per firm; ``quality`` is the latent Q (N(0, 1), shape (n,));
    ``age_at_first_loan`` in years, shape (n,).
    """

    frame: pd.DataFrame
    quality: np.ndarray
    age_at_first_loan: np.ndarray


def _choice(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    names = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()), float)
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


def _t4(z: np.ndarray) -> np.ndarray:
    """Student-t(4) quantile of a standard normal draw, rescaled to unit variance (fat tails)."""
    return stats.t.ppf(special.ndtr(z), df=4) / np.sqrt(2.0)


def draw_firms(n: int, rng: np.random.Generator) -> FirmDraw:
    """Draw ``n`` firms. Money in CNY, ratios as fractions."""
    sector = _choice(rng, P.SECTOR_SHARES, n)
    region = _choice(rng, P.REGION_SHARES, n)
    ownership = _choice(rng, P.OWNERSHIP_SHARES, n)

    q = rng.standard_normal(n)  # firm quality
    s = rng.standard_normal(n)  # firm size
    e = rng.standard_normal((9, n))

    # correlated normals (loadings keep unit variance)
    z_roa = 0.65 * q + np.sqrt(1 - 0.65**2) * e[0]
    z_lev = -0.50 * q + np.sqrt(1 - 0.50**2) * e[1]
    # current ratio: var(0.30q - 0.40 z_lev) = 0.09 + 0.16 + 2*0.30*0.40*0.50 = 0.37
    z_cr = 0.30 * q - 0.40 * z_lev + np.sqrt(1 - 0.37) * e[2]
    z_sta = 0.25 * q - 0.20 * s + np.sqrt(1 - 0.25**2 - 0.20**2) * e[3]
    z_growth = 0.35 * q + np.sqrt(1 - 0.35**2) * e[4]
    z_rd = 0.15 * q + np.sqrt(1 - 0.15**2) * e[5]
    z_over = -0.60 * q + 0.80 * e[6]
    z_age = 0.20 * q + 0.30 * s + np.sqrt(1 - 0.20**2 - 0.30**2) * e[7]

    total_assets = np.clip(10 ** (7.4 + 0.55 * s), 2.0e5, 1.0e11)  # median CNY 25m
    sales_to_assets = np.clip(np.exp(np.log(0.75) + 0.55 * z_sta), 0.01, 20.0)
    revenue = np.clip(sales_to_assets * total_assets, 0.0, 1.0e11)
    employees = np.clip(np.round(np.exp(np.log(55) + 0.75 * np.log(total_assets / 2.5e7) + 0.40 * e[8])), 3, 100_000)

    roa = np.clip(0.03 + 0.085 * _t4(z_roa), -2.0, 1.0)
    lev = np.clip(np.exp(np.log(0.42) + 0.45 * z_lev), 0.02, 5.0)
    st_share = rng.uniform(0.55, 0.95, n)  # current liabilities / total liabilities
    cl = lev * st_share  # current liabilities / assets
    cr_raw = np.exp(np.log(1.7) + 0.50 * z_cr)
    ca = np.minimum(cr_raw * cl, 0.95)  # current assets / assets
    current_ratio = np.clip(ca / cl, 0.01, 100.0)
    wcta = np.clip(ca - cl, -5.0, 5.0)

    # interest-bearing debt: 15% of firms have none (interest cover is then empty)
    ib_share = np.where(rng.random(n) < 0.15, 0.0, rng.uniform(0.1, 0.7, n))
    interest = lev * ib_share * 0.055  # interest expense / assets at ~5.5% a year
    ebit = np.clip(np.where(roa > 0, roa / 0.85, roa) + interest, -5.0, 5.0)  # 15% tax on profits
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(interest > 0, np.clip(ebit / np.where(interest > 0, interest, 1.0), -1000, 1000), np.nan)

    age = np.clip(np.exp(np.log(6.0) + 0.6 * z_age), 0.5, 35.0)  # years at first loan
    retained = np.clip(roa * np.minimum(age, 12.0) * rng.uniform(0.4, 0.8, n) + 0.05 * rng.standard_normal(n), -10, 10)
    growth = np.clip(np.exp(np.log(1.12) + 0.30 * _t4(z_growth)) - 1.0, -0.95, 20.0)

    rd_med = np.array([P.RD_MEDIAN[x] for x in P.SECTOR_SHARES])[pd.Index(list(P.SECTOR_SHARES)).get_indexer(sector)]
    rd = np.clip(np.exp(np.log(rd_med) + 0.60 * z_rd), 0.0, 5.0)
    bands = np.array([b for b, _ in P.HNTE_RD_THRESHOLDS])
    thresholds = np.array([t for _, t in P.HNTE_RD_THRESHOLDS])[np.searchsorted(bands, revenue, side="left")]
    certified = rng.random(n) < np.where(rd >= thresholds, 0.80, 0.15)

    overdue = np.minimum(rng.poisson(np.exp(-2.7 + 1.0 * z_over)), 100)
    audited = rng.random(n) < special.expit(-0.2 + 0.9 * s + 0.3 * q)

    frame = pd.DataFrame(
        {
            "sector": sector.astype(str),
            "region": region.astype(str),
            "ownership_type": ownership.astype(str),
            "high_tech_certified": certified,
            "employees": employees.astype(np.int64),
            "currency": "CNY",
            "revenue": np.round(revenue, 2),
            "total_assets": np.round(total_assets, 2),
            "rd_intensity": np.round(rd, 4),
            "net_profit_to_assets": np.round(roa, 4),
            "liabilities_to_assets": np.round(lev, 4),
            "working_capital_to_assets": np.round(wcta, 4),
            "current_ratio": np.round(current_ratio, 4),
            "retained_earnings_to_assets": np.round(retained, 4),
            "ebit_to_assets": np.round(ebit, 4),
            "sales_to_assets": np.round(sales_to_assets, 4),
            "sales_growth": np.round(growth, 4),
            "interest_coverage": np.round(coverage, 3),
            "overdue_events_12m": overdue.astype(np.int64),
            "statements_audited": audited,
        }
    )
    return FirmDraw(frame=frame, quality=q, age_at_first_loan=age)
