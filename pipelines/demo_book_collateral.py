"""Demo-book patents: the rights pledged to each loan, their indicators, true value and appraisal.

Each loan is secured by 1..``max_patents_per_loan`` patents of the borrowing firm, each pledged to
that one loan only. A latent technical quality ``theta`` (correlated 0.3 with the firm's quality)
drives claims, family, scope and citations; the TRUE value is then a deterministic function of the
observable indicators (remaining life, claims, family and jurisdictions, citations, legal status,
co-owners, licences, self-citation, litigation, invalidation requests, late fees), the right type,
the sector and the firm's revenue. The appraised value is that true value times lognormal,
method-dependent appraisal noise. Money in CNY, dates ``datetime64[D]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import demo_book_priors as P
from pipelines.demo_book_config import DemoBookConfig

DAYS_PER_YEAR = 365.25
# Median of the value-weighted log quality multiplier of a pledge (measured once on a large book);
# the disposal model centres on it so ``sale_probability`` is the rate of an average pledge.
QUALITY_REFERENCE = 0.24


@dataclass(frozen=True)
class PatentDraw:
    """``frame``: patent columns except ``patent_id``/``firm_id``; ``loan``: the loan index each patent
    secures (sorted); ``true_value`` (CNY) and ``log_quality`` (log of the value multiplier) per patent."""

    frame: pd.DataFrame
    loan: np.ndarray
    true_value: np.ndarray
    log_quality: np.ndarray
    patent_id: np.ndarray
    theta: np.ndarray
    """Latent technical quality per patent (drives the dated events' rates)."""
    citation_rate: np.ndarray
    """Forward-citation intensity mu per patent (citations by age a: Poisson mu * a**1.1, gamma-mixed
    before conditioning on the count at appraisal)."""
    self_citation_p: np.ndarray
    """Probability that a forward citation of the patent comes from its owner."""
    sector: np.ndarray


def _pick_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row from a (rows, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    return np.minimum((rng.random((len(probs), 1)) > cum).sum(axis=1), probs.shape[1] - 1)


def _add_years(dates: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Same calendar day ``years`` later (29 February becomes 1 March in a common year)."""
    month = dates.astype("datetime64[M]")
    day = dates - month.astype("datetime64[D]")
    return (month + (12 * np.asarray(years)).astype("timedelta64[M]")).astype("datetime64[D]") + day


def _nbinom(rng: np.random.Generator, mean: np.ndarray, shape: float) -> np.ndarray:
    """Negative-binomial (gamma-Poisson) counts with the given mean and gamma shape (heavy tail if small)."""
    return rng.poisson(np.asarray(mean, float) * rng.gamma(shape, 1.0 / shape, np.shape(mean)))


def patent_numbers(filing: np.ndarray, right_idx: np.ndarray) -> np.ndarray:
    """CNIPA-style application numbers ``CN`` + year (4) + kind (1 invention, 2 utility model, 3 design)
    + serial (7) + check character (weights 2..9,2..5 mod 11, 10 → X); serials count up within
    (year, kind) in row order, so numbers are unique."""
    year = filing.astype("datetime64[Y]").astype(np.int64) + 1970
    kind = right_idx + 1
    key = year * 10 + kind
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first = np.searchsorted(sorted_key, sorted_key, side="left")
    serial = np.empty(len(key), np.int64)
    serial[order] = np.arange(len(key)) - first + 100_000
    number = year * 100_000_000 + kind * 10_000_000 + serial
    weights = np.array([2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5])
    digits = (number[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    check = (digits * weights).sum(axis=1) % 11
    check_char = np.array(list("0123456789X"), dtype=object)[check]
    return ("CN" + pd.Series(number).astype(str) + pd.Series(check_char)).to_numpy(dtype=object)


def draw_patents(
    loan_firm: np.ndarray,
    appraisal_date: np.ndarray,
    firms: pd.DataFrame,
    firm_quality: np.ndarray,
    cfg: DemoBookConfig,
    rng: np.random.Generator,
) -> PatentDraw:
    """Patents for loans whose borrowers are ``loan_firm`` (firm row index per loan), valued on each
    loan's ``appraisal_date``."""
    n_loans = len(loan_firm)
    revenue = firms["revenue"].to_numpy()[loan_firm]
    p_more = np.clip(0.25 + 0.06 * np.log(np.maximum(revenue, 1.0) / 3.0e7), 0.05, 0.7)
    count = 1 + rng.binomial(cfg.max_patents_per_loan - 1, p_more)
    loan = np.repeat(np.arange(n_loans), count)
    n = len(loan)
    firm = loan_firm[loan]
    sector = firms["sector"].to_numpy()[firm]
    sectors = list(P.SECTOR_SHARES)
    sector_idx = pd.Index(sectors).get_indexer(sector)

    mix = np.array([P.RIGHT_TYPE_MIX[s] for s in sectors])[sector_idx]
    rtype = _pick_rows(rng, mix)  # 0 invention, 1 utility model, 2 design
    inv, um, des = rtype == 0, rtype == 1, rtype == 2
    theta = 0.3 * firm_quality[firm] + np.sqrt(0.91) * rng.standard_normal(n)

    status_mix = np.array([P.LEGAL_STATUS_MIX[t] for t in P.RIGHT_TYPES])[rtype]
    status = _pick_rows(rng, status_mix)  # 0 granted, 1 pending, 2 lapsed, 3 invalidated
    pending = status == 1

    lag_med = np.array([P.GRANT_LAG[t][0] for t in P.RIGHT_TYPES])[rtype]
    lag_sd = np.array([P.GRANT_LAG[t][1] for t in P.RIGHT_TYPES])[rtype]
    lag = np.clip(lag_med * np.exp(lag_sd * rng.standard_normal(n)), 0.2, 6.0)  # years
    valuation = appraisal_date[loan]
    # statutory term: designs filed before 2021-06-01 keep 10 years (the design term depends on the filing date,
    # so draw age first with the longer term, then cap by the applicable one)
    term = np.array([P.STATUTORY_TERM_YEARS[t] for t in P.RIGHT_TYPES])[rtype].astype(np.int64)
    after = np.exp(np.log(2.0) + 0.8 * rng.standard_normal(n))
    age = np.where(pending, lag * rng.uniform(0.2, 0.95, n), lag + 0.05 + after)
    age = np.minimum(age, 0.85 * np.where(des, P.DESIGN_TERM_BEFORE_2021_06_01, term))
    age = np.where(pending, age, np.maximum(age, lag + 0.02))
    filing = valuation - np.round(age * DAYS_PER_YEAR).astype("timedelta64[D]")
    term = np.where(des & (filing < np.datetime64("2021-06-01")), P.DESIGN_TERM_BEFORE_2021_06_01, term)
    grant = filing + np.round(lag * DAYS_PER_YEAR).astype("timedelta64[D]")
    grant = np.where(pending, np.datetime64("NaT"), np.minimum(grant, valuation))
    expiry = _add_years(filing, term)
    age_years = (valuation - filing).astype(np.int64) / DAYS_PER_YEAR
    remaining_share = np.clip((expiry - valuation).astype(np.int64) / DAYS_PER_YEAR / term, 0.0, 1.0)

    claims = np.where(des, 1, 1 + np.where(inv, _nbinom(rng, 8.0 * np.exp(0.2 * theta), 3.0), _nbinom(rng, 5.0, 3.0)))
    claims = np.minimum(claims, 500)
    independent = 1 + np.where(
        des, 0, rng.binomial(np.minimum(claims - 1, np.where(inv, 4, 2)), np.where(inv, 0.25, 0.15))
    )
    independent = np.minimum(independent, claims)
    family = np.minimum(1 + np.where(inv, _nbinom(rng, 0.8 * np.exp(0.6 * theta), 1.0), rng.binomial(1, 0.03, n)), 200)
    jurisdictions = np.minimum(1 + rng.binomial(family - 1, 0.7), 100)
    scope = np.where(des, 1, np.minimum(1 + rng.poisson(1.2 * np.exp(0.2 * theta)), 50))
    fwd_rate = np.array([0.6, 0.15, 0.02])[rtype]
    fwd_mu = fwd_rate * np.exp(0.5 * theta)
    forward = np.minimum(_nbinom(rng, fwd_mu * age_years**P.CITATION_AGE_POWER, 0.8), 10_000)
    backward = np.minimum(_nbinom(rng, np.array([8.0, 4.0, 1.0])[rtype], 2.0), 2000)
    npl_mean = np.where(inv, np.where(sector == "biotech_pharma", 6.0, 1.5), np.where(um, 0.2, 0.0)) * np.exp(0.3 * theta)
    npl = np.minimum(rng.poisson(npl_mean), 2000)
    self_p = rng.beta(1.2, 5.0, n)
    self_cites = rng.binomial(forward, self_p)
    self_share = np.where(forward > 0, self_cites / np.maximum(forward, 1), 0.0)
    co_owners = rng.choice(4, size=n, p=[0.86, 0.10, 0.03, 0.01])
    transfers = np.minimum(rng.poisson(0.12, n), 50)
    licences = np.minimum(rng.poisson(0.25 * np.exp(0.5 * theta)), 1000)
    exclusive = (licences > 0) & (rng.random(n) < 0.3)
    litigation = np.minimum(rng.poisson(0.03 * np.exp(0.5 * theta)), 100)
    invalidation = np.minimum(rng.poisson(0.02 + 0.3 * litigation), 50)
    invalidation = np.where(status == 3, np.maximum(invalidation, 1), invalidation)
    late = np.where(pending, 0, rng.poisson(0.15, n) + np.where(status == 2, 1 + rng.poisson(1.0, n), 0))
    late = np.minimum(late, 20)

    ipc_lists = [P.IPC_BY_SECTOR[s] for s in sectors]
    cross = rng.random(n) < P.IPC_CROSS_SECTOR_SHARE
    ipc_sector = np.where(cross, rng.integers(0, len(sectors), n), sector_idx)
    ipc_table = np.array([list(lst) for lst in ipc_lists], dtype=object)  # (sectors, 6)
    ipc = ipc_table[ipc_sector, rng.integers(0, ipc_table.shape[1], n)]

    # --- true value (CNY): deterministic in the observable indicators ---------------------------
    log_q = (
        0.7 * np.log(np.maximum(remaining_share, 0.02) / 0.6)
        + np.where(des, 0.0, 0.15 * np.log(claims / 8.0))
        + 0.25 * np.log(family) + 0.10 * np.log(jurisdictions)
        + 0.12 * np.log1p(forward)
        + np.log(np.array([P.STATUS_VALUE[s] for s in P.LEGAL_STATUSES])[status])
        + np.log(0.8) * co_owners
        + np.log1p(0.10 * np.minimum(licences, 5)) + np.where(exclusive, np.log(0.75), 0.0)
        + np.log1p(-0.4 * self_share)
        + np.log(0.9) * litigation + np.log(0.75) * invalidation + np.log(0.93) * late
    )
    base = np.array([P.BASE_VALUE[t] for t in P.RIGHT_TYPES])[rtype]
    scale = np.array([P.SECTOR_VALUE_SCALE[s] for s in sectors])[sector_idx]
    firm_scale = (np.maximum(revenue[loan], 1.0e5) / 3.0e7) ** 0.35
    true_value = base * scale * firm_scale * np.exp(log_q)

    method = rng.choice(3, size=n, p=np.array(P.APPRAISAL_METHOD_MIX) / sum(P.APPRAISAL_METHOD_MIX))
    bias = np.array([P.APPRAISAL_LOG_BIAS[m] for m in P.APPRAISAL_METHODS])[method]
    sd = np.array([P.APPRAISAL_LOG_SD[m] for m in P.APPRAISAL_METHODS])[method]
    appraised = np.clip(np.round(true_value * np.exp(bias + sd * rng.standard_normal(n)), -2), 1.0e3, 1.0e10)

    frame = pd.DataFrame(
        {
            "right_type": np.array(P.RIGHT_TYPES, dtype=object)[rtype],
            "legal_status": np.array(P.LEGAL_STATUSES, dtype=object)[status],
            "filing_date": filing,
            "grant_date": grant,
            "expiry_date": expiry,
            "claims_count": claims.astype(np.int64),
            "independent_claims": independent.astype(np.int64),
            "family_size": family.astype(np.int64),
            "jurisdictions": jurisdictions.astype(np.int64),
            "ipc_main": ipc,
            "ipc_subclass_count": scope.astype(np.int64),
            "forward_citations": forward.astype(np.int64),
            "backward_citations": backward.astype(np.int64),
            "npl_citations": npl.astype(np.int64),
            "self_citation_share": np.round(self_share, 4),
            "co_owners": co_owners.astype(np.int64),
            "transfers_count": transfers.astype(np.int64),
            "licences_count": licences.astype(np.int64),
            "exclusive_licence": exclusive,
            "litigation_count": litigation.astype(np.int64),
            "invalidation_requests": invalidation.astype(np.int64),
            "maintenance_fees_late": late.astype(np.int64),
            "appraised_value": appraised,
            "appraisal_method": np.array(P.APPRAISAL_METHODS, dtype=object)[method],
            "appraisal_date": valuation,
            "currency": "CNY",
        }
    )
    return PatentDraw(frame=frame, loan=loan, true_value=true_value, log_quality=log_q,
                      patent_id=patent_numbers(filing, rtype), theta=theta, citation_rate=fwd_mu,
                      self_citation_p=self_p, sector=sector)
