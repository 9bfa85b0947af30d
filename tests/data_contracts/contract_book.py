"""A small hand-written maker of contract-compliant loan books for the contract tests and the
validation benchmark (raw-ish frames: dates as ISO strings, as a CSV would give them).

Allowed values come from the contracts; every rule holds (keys, references, date orders, claims
order, share sums, required_if), so a test breaks one thing at a time on purpose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts import load_contract


def _allowed(table: str, col: str) -> list[str]:
    return list(load_contract(table).column(col).allowed or ())


def _iso(days: np.ndarray) -> list[str]:
    return [str(d) for d in (np.datetime64("2000-01-01") + days.astype("timedelta64[D]"))]


def make_book(n_firms: int = 6, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``n_firms`` firms, 2 patents and 1 loan (pledging both) per firm, outcomes for every loan;
    every other loan defaulted. Returns {table: DataFrame} for the five core tables + ground_truth."""
    rng = np.random.default_rng(seed)
    n = n_firms
    fid = [f"F{i:06d}" for i in range(1, n + 1)]
    firms = pd.DataFrame({
        "firm_id": fid,
        "sector": rng.choice(_allowed("firms", "sector"), n),
        "region": rng.choice(_allowed("firms", "region"), n),
        "founding_date": _iso(rng.integers(0, 4000, n)),
        "ownership_type": rng.choice(_allowed("firms", "ownership_type"), n),
        "high_tech_certified": rng.random(n) < 0.5,
        "employees": rng.integers(5, 500, n),
        "currency": "CNY",
        "revenue": rng.uniform(1e6, 1e8, n),
        "total_assets": rng.uniform(1e6, 1e8, n),
        "rd_intensity": rng.uniform(0, 0.3, n),
        "net_profit_to_assets": rng.uniform(-0.2, 0.2, n),
        "liabilities_to_assets": rng.uniform(0.1, 0.9, n),
        "working_capital_to_assets": rng.uniform(-0.2, 0.5, n),
        "current_ratio": rng.uniform(0.5, 3, n),
        "retained_earnings_to_assets": rng.uniform(-0.5, 0.5, n),
        "ebit_to_assets": rng.uniform(-0.2, 0.3, n),
        "sales_to_assets": rng.uniform(0.2, 2, n),
        "sales_growth": rng.uniform(-0.3, 1, n),
        "interest_coverage": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-5, 30, n)),
        "overdue_events_12m": rng.integers(0, 3, n),
        "statements_audited": rng.random(n) < 0.7,
    })
    m = 2 * n
    filing = rng.integers(5000, 7000, m)
    granted = rng.random(m) < 0.8
    claims = rng.integers(3, 30, m)
    patents = pd.DataFrame({
        "patent_id": [f"CN{201000000000 + i}" for i in range(m)],
        "firm_id": np.repeat(fid, 2),
        "right_type": rng.choice(_allowed("patents", "right_type"), m),
        "legal_status": np.where(granted, "granted", "pending"),
        "filing_date": _iso(filing),
        "grant_date": [d if g else None for d, g in zip(_iso(filing + 500), granted)],
        "expiry_date": _iso(filing + 7300),
        "claims_count": claims,
        "independent_claims": np.minimum(claims, rng.integers(1, 4, m)),
        "family_size": rng.integers(1, 10, m),
        "jurisdictions": rng.integers(1, 5, m),
        "ipc_main": rng.choice(["G06F", "H01L", "A61K", "B33Y"], m),
        "ipc_subclass_count": rng.integers(1, 6, m),
        "forward_citations": rng.integers(0, 50, m),
        "backward_citations": rng.integers(0, 40, m),
        "npl_citations": rng.integers(0, 10, m),
        "self_citation_share": rng.uniform(0, 1, m),
        "co_owners": rng.integers(0, 2, m),
        "transfers_count": rng.integers(0, 3, m),
        "licences_count": rng.integers(0, 5, m),
        "exclusive_licence": rng.random(m) < 0.1,
        "litigation_count": rng.integers(0, 2, m),
        "invalidation_requests": rng.integers(0, 2, m),
        "maintenance_fees_late": rng.integers(0, 2, m),
        "appraised_value": rng.uniform(1e5, 1e7, m),
        "appraisal_method": rng.choice(_allowed("patents", "appraisal_method"), m),
        "appraisal_date": _iso(filing + 800),
        "currency": "CNY",
    })
    lid = [f"L{i:06d}" for i in range(1, n + 1)]
    orig = rng.integers(7500, 8000, n)
    g = rng.uniform(0, 0.5, n)
    ins = rng.uniform(0, 0.3, n)
    loans = pd.DataFrame({
        "loan_id": lid, "firm_id": fid,
        "amount": rng.uniform(1e5, 1e7, n), "currency": "CNY",
        "term_months": rng.integers(6, 60, n),
        "origination_date": _iso(orig),
        "interest_rate": rng.uniform(0.03, 0.12, n),
        "guarantee_share": g, "insurance_share": ins,
        "compensation_share": rng.uniform(0, 1, n) * (1 - g - ins),
    })
    pledges = pd.DataFrame({"loan_id": np.repeat(lid, 2), "patent_id": patents["patent_id"].to_numpy()})
    d = np.arange(n) % 2 == 0
    outcomes = pd.DataFrame({
        "loan_id": lid,
        "defaulted": d,
        "default_date": [x if k else None for x, k in zip(_iso(orig + 300), d)],
        "patents_sold": [bool(s) if k else None for s, k in zip(rng.random(n) < 0.6, d)],
        "sale_price": np.where(d, rng.uniform(0, 1e6, n), np.nan),
        "recovery_date": [x if k else None for x, k in zip(_iso(orig + 600), d)],
        "recovered_amount": np.where(d, rng.uniform(0, 1e6, n), np.nan),
        "realised_lgd": np.where(d, rng.uniform(0, 1, n), np.nan),
    })
    ground_truth = pd.DataFrame({
        "loan_id": lid, "true_pd": rng.uniform(0.001, 0.3, n), "true_expected_lgd": rng.uniform(0.2, 0.8, n),
        "true_in_force_share": rng.uniform(0.5, 1.0, n),
        "systematic_factor": rng.normal(0, 1, n),
    })
    return {"firms": firms, "patents": patents, "loans": loans, "pledges": pledges,
            "outcomes": outcomes, "ground_truth": ground_truth}


def write_book(tables: dict[str, pd.DataFrame], directory, suffix: str = ".parquet") -> None:
    """Write each table as ``<table><suffix>`` (.parquet or .csv)."""
    from pathlib import Path

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if suffix == ".csv":
            df.to_csv(d / f"{name}.csv", index=False)
        else:
            df.to_parquet(d / f"{name}.parquet", index=False)
