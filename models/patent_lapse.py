"""From the CNIPA table (contract ``cnipa_patents``, typed) to a survival sample of granted patents:
how long each right stayed in force after grant, whether it lapsed, and the indicators known at
grant — the mapping from the contract's columns to the survival model's and the value score's
indicators.

Time origin is the grant date (``grant_date``, the registration of the right). The event is the
right's termination (``termination_date``: unpaid annual fees or abandonment), unless a later
restoration (``restoration_date``) revived it. Rights still in force are right-censored at the
register snapshot (2017-12-31). A termination within ``expiry_window_days`` of the 20-year term
is the statutory end, not a lapse: censored at the term (known at grant, it is not what the model
should learn). Left out of the sample, and counted: applications never granted; rights waived at
grant (``waiver_date``: registration not completed, the right never came into force); rights whose
status says ended without an end date.

No look-ahead: indicators use only what the register held at grant — bibliographic data, filing,
publication, examination and grant dates. The durations the data's author derived from event dates
(``*_months`` columns), the status at the snapshot, waiver, restoration and termination dates are
never indicators. This module is pure (frames in, frames out); once features are computed as of a
valuation date (features/), the at-grant indicators are the special case as_of = grant date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_contracts import InputError

DAYS_PER_YEAR = 365.25
EU_COUNTRIES = ("AT", "BE", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE", "IT", "LU", "NL", "NO", "PT", "SE")
EAST_CHINA = ("11", "12", "31", "32", "33", "35", "37", "44")  # Beijing, Tianjin, Shanghai, Jiangsu, Zhejiang, Fujian, Shandong, Guangdong
PLANT_MEDICINE_IPC = "A61K35/78"  # IPC 7 group for medicines from plants (traditional Chinese medicine)

INDICATORS: dict[str, str] = {
    "log_claims": "log(1 + claims); claims_count",
    "ipc_subclass_count": "distinct IPC subclasses (OECD scope); ipc_subclass_count",
    "log_ipc_count": "log(number of IPC codes); ipc_count",
    "ipc_diversity": "1 - Herfindahl of IPC subclass shares; ipc_diversity",
    "applicants_count": "applicants (co-owners); applicants_count",
    "applicant_company": "an applicant is a company; applicant_company",
    "applicant_university": "an applicant is a university; applicant_university",
    "applicant_individual": "an applicant is an individual; applicant_individual",
    "foreign_company": "a foreign company applies; not domestic_applicant and applicant_company",
    "log_inventors": "log(1 + inventors); inventors_count",
    "has_agency": "filed through an agency; has_agency",
    "agents_count": "agents named; agents_count",
    "domestic_applicant": "Chinese applicant; domestic_applicant",
    "has_foreign_priority": "claims a foreign priority; has_foreign_priority",
    "pct": "PCT filing; pct_filing present",
    "priority_count": "priority claims; priority_claims",
    "is_divisional": "divisional application; is_divisional",
    "grant_lag_years": "filing to grant, years; filing_date, grant_date",
    "examination_lag_years": "filing to substantive examination, years; filing_date, examination_date",
    "publication_lag_years": "filing to publication, years; filing_date, publication_date",
    "remaining_term_years": "statutory term left at grant (20 years from filing), years; filing_date, grant_date",
    "filing_year": "filing-year cohort; filing_date",
    "ipc_pharma": "main IPC class A61K (medicines); ipc_main",
    "ipc_medical_other": "main IPC class A61, not A61K (devices, hygiene); ipc_main",
    "ipc_food": "main IPC class A23 (food); ipc_main",
    "ipc_agriculture": "main IPC class A01 (agriculture); ipc_main",
    "plant_medicine": "classified in A61K35/78 (medicines from plants); ipc_codes",
    "origin_us": "first applicant from the US; applicant_origin",
    "origin_jp": "first applicant from Japan; applicant_origin",
    "origin_eu": "first applicant from a European country; applicant_origin",
    "origin_east_china": "first applicant from a coastal province (Beijing, Shanghai, Guangdong, ...); applicant_origin",
}
"""Indicator name → what it is; the contract column(s) it comes from."""
INDICATOR_NAMES: tuple[str, ...] = tuple(INDICATORS)

REQUIRED_COLUMNS = (
    "application_number", "ipc_main", "ipc_codes", "filing_date", "publication_date", "examination_date", "grant_date",
    "termination_date", "restoration_date", "waiver_date", "status_at_snapshot", "claims_count", "ipc_subclass_count",
    "ipc_count", "ipc_diversity", "applicants_count", "applicant_company", "applicant_university", "applicant_individual",
    "inventors_count", "has_agency", "agents_count", "domestic_applicant", "has_foreign_priority", "pct_filing",
    "priority_claims", "is_divisional", "applicant_origin",
)


@dataclass(frozen=True)
class LapseSampleConfig:
    """How the survival sample is cut from the register.

    - ``snapshot_date``: the register snapshot; rights in force then are censored there (2017-12-31).
    - ``statutory_term_years``: term of an invention patent from filing (20, Patent Law art. 42).
    - ``expiry_window_days``: a termination this close to the term (or after it) is the statutory
      end, censored at the term (365 days; 11 of 1,174 terminations in the published sample).
    """

    snapshot_date: str = "2017-12-31"
    statutory_term_years: float = 20.0
    expiry_window_days: int = 365


def _require(table: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"cnipa_patents: table lacks column(s) {missing} (rule 'missing_column'); read it with its contract")


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def _years(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier).dt.days / DAYS_PER_YEAR).to_numpy(dtype=float, na_value=np.nan)


def _flag(s: pd.Series) -> np.ndarray:
    return s.astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class LapseSample:
    """``frame``: one row per granted right in the sample, indexed by application number, with
    ``grant_date``, ``end_date`` (lapse, term or snapshot), ``time_years`` (grant → end) and
    ``lapsed`` (bool: the event); ``excluded``: counts of the rows left out, by reason."""

    frame: pd.DataFrame
    excluded: dict[str, int]

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def events(self) -> int:
        return int(self.frame["lapsed"].sum())


def lapse_sample(table: pd.DataFrame, config: LapseSampleConfig | None = None) -> LapseSample:
    """The granted rights of a typed ``cnipa_patents`` table with their time in force and lapse flag."""
    cfg = config or LapseSampleConfig()
    _require(table)
    t = table.set_index(table["application_number"].astype(str))
    snapshot = pd.Timestamp(cfg.snapshot_date)
    grant, term, rest, filing = (_dates(t[c]) for c in ("grant_date", "termination_date", "restoration_date", "filing_date"))
    expiry = filing + pd.DateOffset(years=int(cfg.statutory_term_years))
    granted = grant.notna()
    terminated = term.notna() & ~(rest.notna() & (rest > term))
    status = pd.to_numeric(t["status_at_snapshot"], errors="coerce")
    ended_no_date = granted & ~terminated & (status == 2)
    after_snapshot = granted & (grant > snapshot)
    keep = granted & ~ended_no_date & ~after_snapshot
    at_term = terminated & (term >= expiry - pd.Timedelta(days=cfg.expiry_window_days))
    end = pd.Series(snapshot, index=t.index).where(~terminated, term)
    end = end.where(~at_term, expiry)
    end = end.where(end <= snapshot, snapshot)
    lapsed = terminated & ~at_term & (term <= snapshot)
    frame = pd.DataFrame({
        "grant_date": grant, "end_date": end, "time_years": _years(end, grant), "lapsed": lapsed.astype(bool),
        "expiry_date": expiry,
    }, index=t.index)[keep.to_numpy()]
    frame.index.name = "application_number"
    bad_time = frame["time_years"] <= 0
    if bad_time.any():
        raise InputError(f"cnipa_patents: end not after grant for {frame.index[bad_time][:5].tolist()} "
                         "(rule 'date_order' grant_date, termination_date)")
    excluded = {
        "not_granted": int((~granted).sum()),
        "waived_at_grant": int((~granted & t["waiver_date"].notna()).sum()),
        "ended_without_date": int(ended_no_date.sum()),
        "granted_after_snapshot": int(after_snapshot.sum()),
        "terminated_at_term_censored": int((at_term & keep).sum()),
    }
    return LapseSample(frame, excluded)


def grant_indicators(table: pd.DataFrame, index: pd.Index | None = None) -> pd.DataFrame:
    """The survival model's indicators at grant (``INDICATOR_NAMES``, float64, NaN where unknown),
    one row per application (``index``: a subset of application numbers, e.g. a sample's)."""
    _require(table)
    t = table.set_index(table["application_number"].astype(str))
    if index is not None:
        t = t.loc[index]
    filing, grant = _dates(t["filing_date"]), _dates(t["grant_date"])
    main = t["ipc_main"].astype("str")
    origin = t["applicant_origin"].astype("str")
    company, domestic = _flag(t["applicant_company"]), _flag(t["domestic_applicant"])
    priorities = t["priority_claims"].astype("str").where(t["priority_claims"].notna(), "")
    out = {
        "log_claims": np.log1p(_num(t["claims_count"])),
        "ipc_subclass_count": _num(t["ipc_subclass_count"]),
        "log_ipc_count": np.log(np.maximum(_num(t["ipc_count"]), 1.0)),
        "ipc_diversity": _num(t["ipc_diversity"]),
        "applicants_count": _num(t["applicants_count"]),
        "applicant_company": company,
        "applicant_university": _flag(t["applicant_university"]),
        "applicant_individual": _flag(t["applicant_individual"]),
        "foreign_company": np.where(np.isnan(company) | np.isnan(domestic), np.nan, company * (1.0 - domestic)),
        "log_inventors": np.log1p(_num(t["inventors_count"])),
        "has_agency": _flag(t["has_agency"]),
        "agents_count": _num(t["agents_count"]),
        "domestic_applicant": domestic,
        "has_foreign_priority": _flag(t["has_foreign_priority"]),
        "pct": t["pct_filing"].notna().to_numpy(dtype=float),
        "priority_count": priorities.map(lambda s: 0 if not s.strip() else s.count(";") + 1).to_numpy(dtype=float),
        "is_divisional": _flag(t["is_divisional"]),
        "grant_lag_years": _years(grant, filing),
        "examination_lag_years": _years(_dates(t["examination_date"]), filing),
        "publication_lag_years": _years(_dates(t["publication_date"]), filing),
        "remaining_term_years": _years(filing + pd.DateOffset(years=20), grant),
        "filing_year": filing.dt.year.to_numpy(dtype=float, na_value=np.nan),
        "ipc_pharma": main.str.startswith("A61K").to_numpy(dtype=float),
        "ipc_medical_other": (main.str.startswith("A61") & ~main.str.startswith("A61K")).to_numpy(dtype=float),
        "ipc_food": main.str.startswith("A23").to_numpy(dtype=float),
        "ipc_agriculture": main.str.startswith("A01").to_numpy(dtype=float),
        "plant_medicine": t["ipc_codes"].astype("str").str.contains(PLANT_MEDICINE_IPC, regex=False).to_numpy(dtype=float),
        "origin_us": (origin == "US").to_numpy(dtype=float),
        "origin_jp": (origin == "JP").to_numpy(dtype=float),
        "origin_eu": origin.isin(EU_COUNTRIES).to_numpy(dtype=float),
        "origin_east_china": origin.isin(EAST_CHINA).to_numpy(dtype=float),
    }
    frame = pd.DataFrame(out, index=t.index)[list(INDICATOR_NAMES)].astype("float64")
    frame.index.name = "application_number"
    return frame


VALUE_INDICATOR_SOURCES: dict[str, str] = {
    "is_valid": "1: a granted right, valued at grant",
    "is_invention": "1: the table holds invention patents",
    "remaining_life_years": "statutory term left at grant (20 years from filing_date)",
    "co_owners": "applicants_count - 1",
    "claims_count": "claims_count",
    "family_size": "1 + number of priority claims (a lower bound: later filings abroad are not in the table)",
    "jurisdictions": "1 + distinct countries of the priority claims (a lower bound)",
    "scope": "ipc_subclass_count",
    "age_years": "filing to grant (the age at the valuation date = grant)",
    "grant_lag_years": "filing to grant",
}
"""Expert value-score indicators the CNIPA table can give, and how."""

VALUE_INDICATORS_MISSING: tuple[str, ...] = (
    "transfers_count", "litigation_count", "invalidation_requests", "maintenance_fees_late", "independent_claims",
    "forward_citations_norm", "backward_citations", "npl_citations", "self_citation_share",
    "licences_count", "exclusive_licence", "appraised_value", "appraisal_income", "appraisal_market", "appraisal_cost",
)
"""Indicators the table does not hold (NaN: each earns ``missing_subscore`` for every patent)."""


def value_indicators(table: pd.DataFrame, index: pd.Index | None = None) -> pd.DataFrame:
    """The expert value score's indicators (``models.collateral.INDICATOR_COLUMNS``) at grant, as far
    as the CNIPA table allows (see ``VALUE_INDICATOR_SOURCES``); the rest NaN."""
    _require(table)
    t = table.set_index(table["application_number"].astype(str))
    if index is not None:
        t = t.loc[index]
    filing, grant = _dates(t["filing_date"]), _dates(t["grant_date"])
    lag = _years(grant, filing)
    prio = t["priority_claims"].astype("str").where(t["priority_claims"].notna(), "")
    n_prio = prio.map(lambda s: 0 if not s.strip() else s.count(";") + 1).to_numpy(dtype=float)
    countries = prio.map(lambda s: len({p.split()[1] for p in s.split(";") if len(p.split()) >= 2})).to_numpy(dtype=float)
    n = len(t)
    nan = np.full(n, np.nan)
    cols = {
        "is_valid": np.ones(n), "is_invention": np.ones(n), "is_utility_model": np.zeros(n), "is_design": np.zeros(n),
        "remaining_life_years": _years(filing + pd.DateOffset(years=20), grant),
        "remaining_life_share": np.clip(_years(filing + pd.DateOffset(years=20), grant) / 20.0, 0.0, 1.0),
        "co_owners": _num(t["applicants_count"]) - 1.0,
        "claims_count": _num(t["claims_count"]),
        "family_size": 1.0 + n_prio,
        "jurisdictions": 1.0 + countries,
        "scope": _num(t["ipc_subclass_count"]),
        "age_years": lag,
        "grant_lag_years": lag,
        "log_appraised_value": nan,
    }
    for name in VALUE_INDICATORS_MISSING:
        cols[name] = nan
    frame = pd.DataFrame(cols, index=t.index).astype("float64")
    frame.index.name = "application_number"
    return frame
