"""A small, vectorised maker of contract-compliant loan-book tables for the feature tests and the
feature benchmark (until/unless `pipelines.demo_book.generate_book` is available).

Not a model of anything: values are plausible, rules of the contracts hold (keys, references,
date orders, claims order, share sums), and tables are typed like validated inputs
(`data_contracts.frames.coerce_frame`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts import load_contract
from data_contracts.frames import coerce_frame

DAY = np.timedelta64(1, "D")


def _allowed(table: str, col: str) -> list[str]:
    return list(load_contract(table).column(col).allowed or ())


def _days(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years) * 365.25).astype("int64") * DAY


def make_tables(n_loans: int, seed: int = 0, patents_per_loan: float = 3.0, typed: bool = True) -> dict[str, pd.DataFrame]:
    """Tables firms, patents, loans, pledges (and outcomes-free): ``n_loans`` loans, about
    ``patents_per_loan`` distinct pledged patents each (at least 1)."""
    rng = np.random.default_rng(seed)
    n_firms = max(1, int(n_loans * 0.6))
    firm_ids = np.array([f"F{i:06d}" for i in range(1, n_firms + 1)])
    founding = np.datetime64("2000-01-01") + rng.integers(0, 20 * 365, n_firms) * DAY
    total_assets = np.exp(rng.normal(17.0, 1.2, n_firms))
    revenue = total_assets * rng.uniform(0.0, 2.0, n_firms)
    firms = pd.DataFrame({
        "firm_id": firm_ids,
        "sector": rng.choice(_allowed("firms", "sector"), n_firms),
        "region": rng.choice(_allowed("firms", "region"), n_firms),
        "founding_date": founding,
        "ownership_type": rng.choice(_allowed("firms", "ownership_type"), n_firms),
        "high_tech_certified": rng.random(n_firms) < 0.6,
        "employees": rng.integers(5, 2000, n_firms),
        "currency": "CNY",
        "revenue": revenue,
        "total_assets": total_assets,
        "rd_intensity": rng.uniform(0.0, 0.4, n_firms),
        "net_profit_to_assets": rng.normal(0.03, 0.08, n_firms),
        "liabilities_to_assets": rng.uniform(0.1, 1.2, n_firms),
        "working_capital_to_assets": rng.normal(0.1, 0.2, n_firms),
        "current_ratio": rng.uniform(0.3, 4.0, n_firms),
        "retained_earnings_to_assets": rng.normal(0.05, 0.2, n_firms),
        "ebit_to_assets": rng.normal(0.05, 0.08, n_firms),
        "sales_to_assets": revenue / total_assets,
        "sales_growth": rng.normal(0.1, 0.3, n_firms).clip(-0.9, 5),
        "interest_coverage": np.where(rng.random(n_firms) < 0.2, np.nan, rng.normal(3.0, 4.0, n_firms)),
        "overdue_events_12m": rng.poisson(0.3, n_firms),
        "statements_audited": rng.random(n_firms) < 0.5,
    })

    loan_firm = rng.integers(0, n_firms, n_loans)
    origination = np.maximum(
        np.datetime64("2016-01-01") + rng.integers(0, 8 * 365, n_loans) * DAY, founding[loan_firm] + 30 * DAY
    )
    g = np.where(rng.random(n_loans) < 0.3, 0.3, 0.0)
    ins = np.where(rng.random(n_loans) < 0.2, 0.2, 0.0)
    comp = np.where(rng.random(n_loans) < 0.4, 0.4, 0.0)
    loans = pd.DataFrame({
        "loan_id": [f"L{i:06d}" for i in range(1, n_loans + 1)],
        "firm_id": firm_ids[loan_firm],
        "amount": np.exp(rng.normal(15.2, 0.9, n_loans)).clip(1e5, 1e9).round(-3),
        "currency": "CNY",
        "term_months": rng.choice([12, 24, 36], n_loans),
        "origination_date": origination,
        "interest_rate": rng.uniform(0.03, 0.08, n_loans),
        "guarantee_share": g,
        "insurance_share": ins,
        "compensation_share": comp,
    })

    per_loan = 1 + rng.poisson(max(patents_per_loan - 1.0, 0.0), n_loans)
    n_pat = int(per_loan.sum())
    p_loan = np.repeat(np.arange(n_loans), per_loan)
    right = rng.choice(_allowed("patents", "right_type"), n_pat, p=[0.6, 0.3, 0.1])
    term_years = np.select([right == "invention", right == "utility_model"], [20, 10], 15)
    age = rng.uniform(0.3, 9.0, n_pat)
    filing = origination[p_loan] - _days(age)
    status = rng.choice(_allowed("patents", "legal_status"), n_pat, p=[0.85, 0.08, 0.05, 0.02])
    grant = filing + _days(rng.uniform(0.5, 3.0, n_pat))
    grant = np.where(status == "pending", np.datetime64("NaT"), grant)
    claims = rng.integers(1, 30, n_pat)
    patents = pd.DataFrame({
        "patent_id": [f"CN{i:012d}" for i in range(1, n_pat + 1)],
        "firm_id": firm_ids[loan_firm[p_loan]],
        "right_type": right,
        "legal_status": status,
        "filing_date": filing,
        "grant_date": grant,
        "expiry_date": filing + _days(term_years),
        "claims_count": claims,
        "independent_claims": np.minimum(rng.integers(1, 5, n_pat), claims),
        "family_size": 1 + rng.poisson(1.0, n_pat),
        "jurisdictions": 1 + rng.poisson(0.5, n_pat),
        "ipc_main": [f"{s}{d:02d}{c}" for s, d, c in zip(
            rng.choice(list("ABCDEFGH"), n_pat), rng.integers(1, 99, n_pat), rng.choice(list("BCDFGHJKLMNPQ"), n_pat))],
        "ipc_subclass_count": rng.integers(1, 6, n_pat),
        "forward_citations": rng.poisson(3.0 + age, n_pat),
        "backward_citations": rng.poisson(8.0, n_pat),
        "npl_citations": rng.poisson(1.5, n_pat),
        "self_citation_share": rng.beta(1.0, 4.0, n_pat),
        "co_owners": rng.poisson(0.2, n_pat),
        "transfers_count": rng.poisson(0.3, n_pat),
        "licences_count": rng.poisson(0.5, n_pat),
        "exclusive_licence": rng.random(n_pat) < 0.05,
        "litigation_count": rng.poisson(0.1, n_pat),
        "invalidation_requests": rng.poisson(0.05, n_pat),
        "maintenance_fees_late": rng.poisson(0.2, n_pat),
        "appraised_value": np.exp(rng.normal(14.5, 1.0, n_pat)).round(-2),
        "appraisal_method": rng.choice(_allowed("patents", "appraisal_method"), n_pat),
        "appraisal_date": np.maximum(origination[p_loan] - 30 * DAY, filing),
        "currency": "CNY",
    })
    pledges = pd.DataFrame({"loan_id": loans["loan_id"].to_numpy()[p_loan], "patent_id": patents["patent_id"].to_numpy()})
    tables = {"firms": firms, "patents": patents, "loans": loans, "pledges": pledges}
    if typed:
        tables = {name: coerce_frame(t, load_contract(name)) for name, t in tables.items()}
    return tables


def single_request(tables: dict[str, pd.DataFrame], loan_id: str) -> dict[str, pd.DataFrame]:
    """The sub-book a serving request carries: one loan, its firm, its pledges and pledged patents."""
    loans = tables["loans"][tables["loans"]["loan_id"] == loan_id]
    pledges = tables["pledges"][tables["pledges"]["loan_id"] == loan_id]
    patents = tables["patents"][tables["patents"]["patent_id"].isin(pledges["patent_id"])]
    firms = tables["firms"][tables["firms"]["firm_id"].isin(loans["firm_id"])]
    out = {"firms": firms.copy(), "patents": patents.copy(), "loans": loans.copy(), "pledges": pledges.copy()}
    for events in ("patent_citations", "patent_legal_events"):  # a request may carry the patents' dated events
        if events in tables:
            out[events] = tables[events][tables[events]["patent_id"].isin(patents["patent_id"])].copy()
    return out
