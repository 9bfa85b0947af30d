"""Patent value indicators, one row per patent: legal, technical and economic (GB/T 42748-2023),
with the OECD quality indicators (Squicciarini, Dernis & Criscuolo 2013).

Forward citations are normalised within filing-year x IPC-section cohorts (OECD): a patent's count
is divided by its cohort's mean, learned once (``CitationCohorts.learn``) on the training book.
Times are in years of 365.25 days; money in the patents' currency (CNY, per the contract).
Definitions, units and risk directions of every column: ``features.specs.patent_indicator_specs()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from data_contracts import InputError, ModelError
from features.specs import PATENT_INDICATOR_NAMES, PATENT_SOURCE_COLUMNS

SECONDS_PER_YEAR = 365.25 * 86_400
IPC_SECTIONS = "ABCDEFGH"


def _dates(values) -> np.ndarray:
    """datetime64[s] numpy array (NaT for missing) from a Series, Index, array or scalar."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    return np.asarray(values, dtype="datetime64[s]")


def years_between(later, earlier) -> np.ndarray:
    """``later - earlier`` in years (float64, broadcast shape); NaN where either date is missing."""
    a, b = _dates(later), _dates(earlier)
    seconds = (a - b).astype(np.float64)
    return np.where(np.isnat(a) | np.isnat(b), np.nan, seconds / SECONDS_PER_YEAR)


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float, na_value=np.nan)


def category_codes(values, allowed, key=None) -> np.ndarray:
    """Position of each value in ``allowed`` (int64; -1 if missing or not allowed).

    ``key`` maps a distinct value before the lookup (e.g. an IPC code to its section letter).
    Factorises first, so the cost is one pass plus one lookup per distinct value.
    """
    codes, uniques = pd.factorize(values)
    where = {v: i for i, v in enumerate(allowed)}
    lut = np.array([where.get(key(u) if key else u, -1) for u in uniques] + [-1], dtype=np.int64)
    return lut[codes]  # code -1 (missing) picks the trailing -1


def _is(frame: pd.DataFrame, col: str, value: str) -> np.ndarray:
    return (category_codes(frame[col], (value,)) == 0).astype(float)


def _one_hot(frame: pd.DataFrame, col: str, names: dict[str, str]) -> dict[str, np.ndarray]:
    """{feature name: 1.0 where ``frame[col]`` equals its value, else 0.0}."""
    codes = category_codes(frame[col], tuple(names.values()))
    return {name: (codes == i).astype(float) for i, name in enumerate(names)}


def _cohort_keys(filing_date, ipc_main) -> tuple[np.ndarray, np.ndarray]:
    """(filing year, IPC section index 0-7 or -1) per patent."""
    year = _dates(filing_date).astype("datetime64[Y]").astype(np.int64) + 1970
    section = category_codes(ipc_main, IPC_SECTIONS, key=lambda code: str(code)[:1])
    return year, section


def require_columns(frame: pd.DataFrame, table: str, columns) -> None:
    """Raise ``InputError`` naming the table and the columns ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"features: table '{table}' lacks column(s) {missing} (rule 'required_columns')")


@dataclass(frozen=True)
class CitationCohorts:
    """Mean forward citations per (filing year, IPC section) cohort, learned from a patents table.

    A cohort with fewer than ``min_cohort_size`` patents, or a zero mean, is not kept: its patents
    (and those of cohorts never seen) fall back to their IPC section's mean, then to the global mean;
    if even that is 0 the divisor is 1 (raw counts).
    """

    year_section_means: Mapping[tuple[int, str], float] = field(default_factory=dict)
    section_means: Mapping[str, float] = field(default_factory=dict)
    global_mean: float = 1.0
    min_cohort_size: int = 20

    @classmethod
    def learn(cls, patents: pd.DataFrame, min_cohort_size: int = 20) -> CitationCohorts:
        """Learn the cohort means from ``patents`` (columns filing_date, ipc_main, forward_citations)."""
        require_columns(patents, "patents", ("filing_date", "ipc_main", "forward_citations"))
        if len(patents) == 0:
            raise ModelError("features: cannot learn citation cohorts from an empty patents table")
        year, section = _cohort_keys(patents["filing_date"], patents["ipc_main"])
        fc = _num(patents, "forward_citations")
        frame = pd.DataFrame({"year": year, "section": section, "fc": fc})

        def keep(stats: pd.DataFrame) -> pd.DataFrame:
            return stats[(stats["size"] >= min_cohort_size) & (stats["mean"] > 0)]

        ys = keep(frame.groupby(["year", "section"])["fc"].agg(["mean", "size"]))
        ss = keep(frame.groupby("section")["fc"].agg(["mean", "size"]))
        return cls(
            year_section_means={
                (int(y), IPC_SECTIONS[s]): float(m) for (y, s), m in ys["mean"].items() if s >= 0
            },
            section_means={IPC_SECTIONS[s]: float(m) for s, m in ss["mean"].items() if s >= 0},
            global_mean=float(np.nanmean(fc)) if np.isfinite(fc).any() else 0.0,
            min_cohort_size=int(min_cohort_size),
        )

    @cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted cohort keys (year * 8 + section index) and their means."""
        n_sec = len(IPC_SECTIONS)
        keys = np.array([y * n_sec + IPC_SECTIONS.index(s) for y, s in self.year_section_means], dtype=np.int64)
        vals = np.array(list(self.year_section_means.values()), dtype=float)
        order = np.argsort(keys)
        return keys[order], vals[order]

    def expected(self, filing_date, ipc_main) -> np.ndarray:
        """Cohort mean forward citations for each patent (float64, > 0), with the fallbacks."""
        year, section = _cohort_keys(filing_date, ipc_main)
        n_sec = len(IPC_SECTIONS)
        out = np.full(len(year), self.global_mean if self.global_mean > 0 else 1.0)
        sec_mean = np.full(n_sec + 1, np.nan)  # slot n_sec catches section -1
        for s, m in self.section_means.items():
            sec_mean[IPC_SECTIONS.index(s)] = m
        by_section = sec_mean[np.where(section >= 0, section, n_sec)]
        out = np.where(np.isnan(by_section), out, by_section)
        keys, vals = self._lookup
        if len(keys):
            want = year * n_sec + section
            pos = np.clip(np.searchsorted(keys, want), 0, len(keys) - 1)
            hit = (keys[pos] == want) & (section >= 0)
            out = np.where(hit, vals[pos], out)
        return out


def indicator_columns(
    patents: pd.DataFrame, as_of, cohorts: CitationCohorts, rows: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The indicators as float64 arrays, in ``PATENT_INDICATOR_NAMES`` order.

    ``rows``: optional positions into ``patents`` (one per output row; may repeat a patent, e.g. one
    per pledge); default all rows in order. ``as_of``: the valuation date per output row
    (datetime64 array-like) or one date for all.
    """
    take = (lambda a: a) if rows is None else (lambda a: a[rows])
    n = len(patents) if rows is None else len(rows)
    as_of = np.broadcast_to(_dates(as_of), (n,))
    filing = take(_dates(patents["filing_date"]))
    expiry = take(_dates(patents["expiry_date"]))
    remaining = np.maximum(years_between(expiry, as_of), 0.0)
    term = years_between(expiry, filing)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(term > 0, np.clip(remaining / np.where(term > 0, term, 1.0), 0.0, 1.0), 0.0)
    value = _num(patents, "appraised_value")
    per_patent: dict[str, np.ndarray] = {
        "is_valid": _is(patents, "legal_status", "granted"),
        **_one_hot(patents, "right_type", {"is_invention": "invention", "is_utility_model": "utility_model", "is_design": "design"}),
        "forward_citations_norm": _num(patents, "forward_citations")
        / cohorts.expected(patents["filing_date"], patents["ipc_main"]),
        "scope": _num(patents, "ipc_subclass_count"),
        "grant_lag_years": years_between(patents["grant_date"], patents["filing_date"]),
        "appraised_value": value,
        "log_appraised_value": np.log1p(np.maximum(value, 0.0)),
        **_one_hot(patents, "appraisal_method", {f"appraisal_{m}": m for m in ("income", "market", "cost")}),
    }
    cols = {k: take(v) for k, v in per_patent.items()}
    cols["remaining_life_years"] = remaining
    cols["remaining_life_share"] = share
    cols["age_years"] = np.maximum(years_between(as_of, filing), 0.0)
    for name in PATENT_INDICATOR_NAMES:  # the rest are the contract columns themselves
        if name not in cols:
            cols[name] = take(_num(patents, name))
    return {name: cols[name] for name in PATENT_INDICATOR_NAMES}


def patent_indicators(
    patents: pd.DataFrame, as_of: pd.Series | pd.Timestamp, cohorts: CitationCohorts
) -> pd.DataFrame:
    """Indicators per patent: DataFrame indexed by ``patent_id``, float64 columns ``PATENT_INDICATOR_NAMES``.

    ``as_of``: one valuation date for all, or a Series of dates indexed by ``patent_id`` (for a
    pledged patent, the loan's origination date). ``cohorts``: from ``CitationCohorts.learn``.
    """
    require_columns(patents, "patents", ("patent_id", *PATENT_SOURCE_COLUMNS))
    ids = patents["patent_id"]
    if isinstance(as_of, pd.Series):
        if not as_of.index.is_unique:
            raise InputError("features: as_of must have one date per patent_id (duplicate index values)")
        dates = as_of.reindex(ids.to_numpy())
        missing = ids[dates.isna().to_numpy()].tolist()
        if missing:
            raise InputError(f"features: as_of has no date for patent(s) {missing[:5]} (table 'patents', column 'patent_id')")
        dates = pd.to_datetime(dates).to_numpy()
    else:
        stamp = pd.Timestamp(as_of)
        if pd.isna(stamp):
            raise InputError("features: as_of is not a date")
        dates = stamp.to_datetime64()
    cols = indicator_columns(patents, dates, cohorts)
    return pd.DataFrame(cols, index=pd.Index(ids.to_numpy(), name="patent_id"), columns=list(PATENT_INDICATOR_NAMES))


def _positions(keys: pd.Series, table: str, column: str) -> pd.Index:
    index = pd.Index(keys)
    if not index.is_unique:
        dupes = index[index.duplicated()].unique().tolist()
        raise InputError(f"features: {table}.{column}: rule 'unique' broken, e.g. {dupes[:5]}")
    return index


def pledge_positions(
    patents: pd.DataFrame, loans: pd.DataFrame, pledges: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(row of the loan in ``loans``, row of the patent in ``patents``) per pledge of a loan in ``loans``.

    Pledges of loans not in ``loans`` are ignored (scoring a subset); a pledged patent missing from
    ``patents`` raises ``InputError``. Pledges keep their order.
    """
    require_columns(pledges, "pledges", ("loan_id", "patent_id"))
    loan_index = _positions(loans["loan_id"], "loans", "loan_id")
    patent_index = _positions(patents["patent_id"], "patents", "patent_id")
    loan_pos = loan_index.get_indexer(pledges["loan_id"])
    keep = loan_pos >= 0
    patent_ids = pledges["patent_id"][keep]
    patent_pos = patent_index.get_indexer(patent_ids)
    if (patent_pos < 0).any():
        bad = pd.unique(patent_ids[patent_pos < 0].to_numpy())[:5].tolist()
        raise InputError(
            f"features: pledges.patent_id: rule 'foreign_key' (patents.patent_id) broken by {int((patent_pos < 0).sum())} row(s); e.g. {bad}"
        )
    return loan_pos[keep].astype(np.int64), patent_pos.astype(np.int64)


def pledged_patent_indicators(
    patents: pd.DataFrame, loans: pd.DataFrame, pledges: pd.DataFrame, cohorts: CitationCohorts
) -> pd.DataFrame:
    """Indicators per pledge, valued at the loan's origination date.

    DataFrame indexed by (``loan_id``, ``patent_id``) in pledge order, float64 columns ``PATENT_INDICATOR_NAMES``.
    """
    require_columns(patents, "patents", ("patent_id", *PATENT_SOURCE_COLUMNS))
    require_columns(loans, "loans", ("loan_id", "origination_date"))
    loan_pos, patent_pos = pledge_positions(patents, loans, pledges)
    as_of = _dates(loans["origination_date"])[loan_pos]
    cols = indicator_columns(patents, as_of, cohorts, rows=patent_pos)
    index = pd.MultiIndex.from_arrays(
        [loans["loan_id"].to_numpy()[loan_pos], patents["patent_id"].to_numpy()[patent_pos]],
        names=["loan_id", "patent_id"],
    )
    return pd.DataFrame(cols, index=index, columns=list(PATENT_INDICATOR_NAMES))
