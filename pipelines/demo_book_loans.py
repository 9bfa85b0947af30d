"""Demo-book loans: when firms borrow, how much (LTV on the appraised pledge), and who shares the loss.

Dates are numpy ``datetime64[D]``; a month is 365.25/12 days. Amounts in CNY, shares and rates as
fractions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines import demo_book_priors as P
from pipelines.demo_book_config import DemoBookConfig

DAYS_PER_MONTH = 365.25 / 12
MAX_LOANS_PER_FIRM = 6


@dataclass(frozen=True)
class Schedule:
    """One row per loan, sorted by firm then sequence: firm index, sequence number (0 = first loan),
    origination date, term in months and maturity date."""

    firm: np.ndarray
    seq: np.ndarray
    origination: np.ndarray
    term_months: np.ndarray
    maturity: np.ndarray

    def __len__(self) -> int:
        return len(self.firm)


def add_months(dates: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``dates`` (datetime64[D]) plus ``months`` months of 365.25/12 days, rounded to whole days."""
    return dates + np.round(np.asarray(months) * DAYS_PER_MONTH).astype("timedelta64[D]")


def schedule_loans(n_firms: int, cfg: DemoBookConfig, rng: np.random.Generator) -> Schedule:
    """Each firm's first loan falls in a year drawn with weights ``year_growth ** (year - first_year)``;
    further loans (Poisson(``repeat_loan_rate``), at most MAX_LOANS_PER_FIRM in all) follow the
    previous loan's maturity after a 0-240 day gap, and are kept only inside the origination window.
    The loop runs over the sequence number (≤ 6 passes), never over rows."""
    years = np.arange(cfg.first_year, cfg.last_year + 1)
    w = cfg.year_growth ** (years - cfg.first_year)
    year = years[rng.choice(len(years), size=n_firms, p=w / w.sum())]
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    days_in_year = ((year + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]") - start).astype(np.int64)
    end = np.datetime64(f"{cfg.last_year}-12-31", "D")
    wanted = 1 + np.minimum(rng.poisson(cfg.repeat_loan_rate, n_firms), MAX_LOANS_PER_FIRM - 1)

    firms, seqs, origs, terms = [], [], [], []
    orig = start + np.floor(rng.random(n_firms) * days_in_year).astype("timedelta64[D]")
    alive = np.ones(n_firms, bool)
    idx = np.arange(n_firms)
    p_term = np.array(P.TERM_MIX) / np.sum(P.TERM_MIX)
    for k in range(MAX_LOANS_PER_FIRM):
        term = np.array(P.TERM_MONTHS)[rng.choice(len(P.TERM_MONTHS), size=n_firms, p=p_term)]
        gap = rng.integers(0, 241, n_firms).astype("timedelta64[D]")
        keep = alive & (orig <= end) & (k < wanted)
        firms.append(idx[keep])
        seqs.append(np.full(keep.sum(), k))
        origs.append(orig[keep])
        terms.append(term[keep])
        alive = keep
        orig = add_months(orig, term) + gap
    firm = np.concatenate(firms)
    order = np.lexsort((np.concatenate(seqs), firm))
    sched_term = np.concatenate(terms)[order]
    sched_orig = np.concatenate(origs)[order]
    return Schedule(firm[order], np.concatenate(seqs)[order], sched_orig, sched_term.astype(np.int64),
                    add_months(sched_orig, sched_term))


def loan_to_value(
    appraised_by_loan: np.ndarray, capped_by_loan: np.ndarray, cfg: DemoBookConfig, rng: np.random.Generator
) -> np.ndarray:
    """LTV per loan. ``capped_by_loan`` = Σ appraised × per-type cap (DOMAIN.md: invention 25%, utility
    model 15%). Conservative banks lend 80-100% of that cap; the others an LTV in
    [ltv_min, ltv_max] (Beta(2, 2.5) between the bounds)."""
    n = len(appraised_by_loan)
    cap = capped_by_loan / np.maximum(appraised_by_loan, 1e-9)
    conservative = rng.random(n) < cfg.conservative_bank_share
    free = cfg.ltv_min + (cfg.ltv_max - cfg.ltv_min) * rng.beta(2.0, 2.5, n)
    return np.where(conservative, cap * rng.uniform(0.8, 1.0, n), free)


def credit_enhancements(region: np.ndarray, cfg: DemoBookConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(guarantee_share, insurance_share, compensation_share) per loan, fractions of the loss.

    A loan joins a government fund scheme with probability ``fund_share`` (Guangdong: Zhuhai,
    Shenzhen or Zhongshan; Shandong: Weihai; elsewhere a generic city fund at 40% or 50%), then gets a
    guarantee-company layer (30-80%) with probability ``guarantee_rate`` and an IP-insurance layer
    (20-50%) with probability ``insurance_rate``; the added layers are scaled down so the total stays
    ≤ ``max_enhancement``. Shares are floored to 4 decimals."""
    n = len(region)
    names = list(P.FUND_SCHEMES)
    table = np.array([P.FUND_SCHEMES[k] for k in names])  # (schemes, 3): compensation, insurance, guarantee
    scheme = np.full(n, -1)
    u = rng.random(n)
    in_fund = rng.random(n) < cfg.fund_share
    for reg, options in [*P.FUND_SCHEMES_BY_REGION.items(), (None, P.FUND_SCHEMES_OTHER)]:
        mask = in_fund & ((region == reg) if reg else ~np.isin(region, list(P.FUND_SCHEMES_BY_REGION)))
        cum = np.cumsum([p for _, p in options]) / sum(p for _, p in options)
        pick = np.minimum(np.searchsorted(cum, u[mask], side="right"), len(options) - 1)
        scheme[mask] = np.array([names.index(name) for name, _ in options])[pick]
    base = np.where(scheme[:, None] >= 0, table[np.maximum(scheme, 0)], 0.0)
    comp, ins, guar = base[:, 0], base[:, 1], base[:, 2]
    total = comp + ins + guar
    shrink = np.where(total > cfg.max_enhancement, cfg.max_enhancement / np.maximum(total, 1e-12), 1.0)
    comp, ins, guar = comp * shrink, ins * shrink, guar * shrink
    add_g = np.where(rng.random(n) < cfg.guarantee_rate, rng.uniform(0.3, 0.8, n), 0.0)
    add_i = np.where(rng.random(n) < cfg.insurance_rate, rng.uniform(0.2, 0.5, n), 0.0)
    room = np.maximum(cfg.max_enhancement - (comp + ins + guar), 0.0)
    fit = np.where(add_g + add_i > room, room / np.maximum(add_g + add_i, 1e-12), 1.0)
    guar, ins = guar + add_g * fit, ins + add_i * fit
    g, i, c = (np.floor(x * 1e4 + 1e-9) / 1e4 for x in (guar, ins, comp))
    over = g + i + c > 1.0  # guard against float sums like 1.0000000000000002
    g = np.where(over, np.maximum(g - 1e-4, 0.0), g)
    return g, i, c


def interest_rate(year: np.ndarray, bank_pd: np.ndarray, in_fund: np.ndarray) -> np.ndarray:
    """Annual rate: the year's one-year LPR + 0.8% + 0.25 × the bank's own PD estimate, less a 0.5%
    subsidy under a government fund scheme; in [2%, 15%], 4 decimals."""
    lpr = np.array([P.LPR_1Y.get(int(y), P.LPR_DEFAULT) for y in range(int(year.min()), int(year.max()) + 1)])
    base = lpr[year - year.min()] if len(year) else np.zeros(0)
    rate = base + 0.008 + 0.25 * bank_pd - 0.005 * in_fund
    return np.round(np.clip(rate, 0.02, 0.15), 4)
