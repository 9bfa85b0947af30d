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


AGE_STEP_YEARS = 0.25
MAX_CURVE_YEARS = 30.0


def _age_index(age_years: np.ndarray) -> np.ndarray:
    """Grid position (0 = 0.25 years, step 0.25, capped at ``MAX_CURVE_YEARS``) of each age, rounding down."""
    steps = int(MAX_CURVE_YEARS / AGE_STEP_YEARS)
    idx = np.floor(np.nan_to_num(age_years, nan=0.0) / AGE_STEP_YEARS + 1e-9).astype(np.int64) - 1
    return np.clip(idx, 0, steps - 1)


@dataclass(frozen=True)
class PatentEvents:
    """Dated events of a patents table, as positions into it (built by ``patent_events``).

    ``citation_row`` / ``citation_date`` / ``citation_self``: one entry per forward citation;
    ``legal_row`` / ``legal_date`` / ``legal_type``: one per legal event. ``has_citations`` /
    ``has_legal``: whether the table was given (without it the patents table's counts are used).
    """

    citation_row: np.ndarray
    citation_date: np.ndarray
    citation_self: np.ndarray
    legal_row: np.ndarray
    legal_date: np.ndarray
    legal_type: np.ndarray
    has_citations: bool
    has_legal: bool

    def citations_before(self, as_of: np.ndarray, rows: np.ndarray, filing: np.ndarray, window_years: float):
        """Per output row j (patent ``rows[j]``, date ``as_of[j]``): (citations dated before ``as_of``
        within ``window_years`` of filing, all citations before ``as_of``, self-citations among them)."""
        return _count_before(self.citation_row, self.citation_date, rows, as_of,
                             limit=filing + np.timedelta64(int(round(window_years * SECONDS_PER_YEAR)), "s"),
                             flags=self.citation_self)

    def legal_before(self, as_of: np.ndarray, rows: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
        """Per output row: number of legal events of ``kinds`` dated before ``as_of``."""
        keep = np.isin(self.legal_type, kinds)
        return _count_before(self.legal_row[keep], self.legal_date[keep], rows, as_of)[1]


def _count_before(ev_row, ev_date, rows, as_of, limit=None, flags=None):
    """Counts per output row of events of its patent dated strictly before its ``as_of`` (and, for the
    first count, on or before ``limit``[patent]): (windowed or None, all, flagged or None)."""
    n = len(rows)
    out_rows = np.argsort(rows, kind="stable")
    sorted_patents = rows[out_rows]
    # each event goes to every output row of its patent (a patent may be pledged to several loans in a request)
    lo = np.searchsorted(sorted_patents, ev_row, side="left")
    hi = np.searchsorted(sorted_patents, ev_row, side="right")
    reps = hi - lo
    ev = np.repeat(np.arange(len(ev_row)), reps)
    pos = out_rows[np.repeat(lo, reps) + (np.arange(len(ev)) - np.repeat(np.cumsum(reps) - reps, reps))]
    before = ev_date[ev] < as_of[pos]
    all_n = np.bincount(pos[before], minlength=n).astype(float)
    win = None
    if limit is not None:
        inside = before & (ev_date[ev] <= limit[pos])
        win = np.bincount(pos[inside], minlength=n).astype(float)
    flagged = None if flags is None else np.bincount(pos[before & flags[ev]], minlength=n).astype(float)
    return win, all_n, flagged


def _event_positions(table: pd.DataFrame | None, patent_index: pd.Index, date_col: str, name: str):
    if table is None:
        return np.array([], np.int64), np.array([], "datetime64[s]"), table
    require_columns(table, name, ("patent_id", date_col))
    pos = patent_index.get_indexer(table["patent_id"])
    keep = pos >= 0  # events of patents outside this batch are ignored
    return pos[keep].astype(np.int64), _dates(table[date_col])[keep], table[keep]


def patent_events(patents: pd.DataFrame, citations: pd.DataFrame | None = None, legal: pd.DataFrame | None = None) -> PatentEvents:
    """Index the optional ``patent_citations`` and ``patent_legal_events`` tables against ``patents``."""
    index = pd.Index(patents["patent_id"])
    c_row, c_date, c = _event_positions(citations, index, "citation_date", "patent_citations")
    l_row, l_date, lg = _event_positions(legal, index, "event_date", "patent_legal_events")
    c_self = (np.zeros(0, bool) if c is None else
              c["self_citation"].to_numpy(dtype=bool, na_value=False) if "self_citation" in c else np.zeros(len(c_row), bool))
    l_type = np.array([], dtype=object) if lg is None else lg["event_type"].astype(str).to_numpy(dtype=object)
    if lg is not None:
        require_columns(lg, "patent_legal_events", ("event_type",))
    return PatentEvents(c_row, c_date, c_self, l_row, l_date, l_type, citations is not None, legal is not None)


NO_EVENTS = PatentEvents(*(np.array([], np.int64),) * 6, False, False)


@dataclass(frozen=True)
class CitationCohorts:
    """Mean cumulative forward citations by age (years since filing) per IPC-section cohort, learned
    from a patents table (and its dated citations, when given) as of each patent's appraisal date.

    OECD-style normalisation without filing-year cohorts: a patent's count at age ``a`` is compared
    with its section's mean count at the same age, so the ratio does not grow with age and a cohort
    filed recently (seen only young in the training years) is not measured against itself. Ages run
    on a 0.25-year grid to ``MAX_CURVE_YEARS``; a (section, age) cell with fewer than
    ``min_cohort_size`` observations (or a zero mean) uses the all-section curve scaled by the
    section's median ratio to it over its own cells; a section without any such cell, the all-section
    curve; the curves are made non-decreasing and kept > 0 (an all-zero book divides by 1).
    """

    section_curves: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    global_curve: tuple[float, ...] = ()
    min_cohort_size: int = 20

    @classmethod
    def learn(cls, patents: pd.DataFrame, min_cohort_size: int = 20, citations: pd.DataFrame | None = None) -> CitationCohorts:
        """Learn the curves from ``patents`` (columns filing_date, ipc_main, forward_citations,
        appraisal_date) and, when given, the dated ``citations`` (``patent_citations`` table): then
        each patent contributes its count at every grid age up to its appraisal, else only its
        count at its appraisal."""
        require_columns(patents, "patents", ("filing_date", "ipc_main", "forward_citations", "appraisal_date"))
        if len(patents) == 0:
            raise ModelError("features: cannot learn citation cohorts from an empty patents table")
        _, section = _cohort_keys(patents["filing_date"], patents["ipc_main"])
        sec = np.where(section >= 0, section, len(IPC_SECTIONS))  # slot 8: unknown section
        age = years_between(patents["appraisal_date"], patents["filing_date"])
        steps = int(MAX_CURVE_YEARS / AGE_STEP_YEARS)
        shape = (len(IPC_SECTIONS) + 1, steps)
        sums, obs = np.zeros(shape), np.zeros(shape)
        top = np.where(np.isfinite(age) & (age >= AGE_STEP_YEARS), _age_index(age), -1)
        if citations is not None:
            ev = patent_events(patents, citations)
            filing = _dates(patents["filing_date"])
            c_age = years_between(ev.citation_date, filing[ev.citation_row])
            ok = (top[ev.citation_row] >= 0) & (c_age <= age[ev.citation_row])
            first = np.floor(np.maximum(c_age[ok], 0.0) / AGE_STEP_YEARS - 1e-9).astype(np.int64)  # first grid point counting it
            first = np.clip(first, 0, steps - 1)
            last = top[ev.citation_row[ok]]
            diff = np.zeros((shape[0], steps + 1))
            np.add.at(diff, (sec[ev.citation_row[ok]], first), 1.0)
            np.add.at(diff, (sec[ev.citation_row[ok]], last + 1), -1.0)
            sums = np.cumsum(diff, axis=1)[:, :steps]
            have = top >= 0
            cover = np.zeros((shape[0], steps + 1))
            np.add.at(cover, (sec[have], np.zeros(int(have.sum()), np.int64)), 1.0)
            np.add.at(cover, (sec[have], top[have] + 1), -1.0)
            obs = np.cumsum(cover, axis=1)[:, :steps]
        else:
            fc = _num(patents, "forward_citations")
            have = (top >= 0) & np.isfinite(fc)
            np.add.at(sums, (sec[have], top[have]), fc[have])
            np.add.at(obs, (sec[have], top[have]), 1.0)

        def curve(s: np.ndarray, o: np.ndarray, fallback: np.ndarray | None) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                m = np.where(o >= min_cohort_size, s / np.where(o > 0, o, 1.0), np.nan)
            if fallback is not None:  # thin cells: the all-section curve scaled to this section's level
                ok = np.isfinite(m) & (m > 0) & (fallback > 0)
                level = float(np.exp(np.median(np.log(m[ok] / fallback[ok])))) if ok.any() else 1.0
                m = np.where(np.isnan(m) | (m <= 0), level * fallback, m)
            m = pd.Series(m).ffill().bfill().fillna(0.0).to_numpy()
            return np.maximum.accumulate(m)

        overall = curve(sums.sum(axis=0), obs.sum(axis=0), None)
        if not np.any(overall > 0):
            overall = np.ones(steps)
        overall = np.where(overall > 0, overall, overall[overall > 0].min())
        return cls(
            section_curves={IPC_SECTIONS[i]: tuple(curve(sums[i], obs[i], overall)) for i in range(len(IPC_SECTIONS))
                            if obs[i].max() >= min_cohort_size},
            global_curve=tuple(overall),
            min_cohort_size=int(min_cohort_size),
        )

    @cached_property
    def _table(self) -> np.ndarray:
        """(9, steps) curves: one row per IPC section (the all-section curve where unseen), then the all-section one."""
        g = np.asarray(self.global_curve, float) if self.global_curve else np.ones(int(MAX_CURVE_YEARS / AGE_STEP_YEARS))
        rows = [np.asarray(self.section_curves.get(s, g), float) for s in IPC_SECTIONS]
        return np.vstack([*rows, g])

    def expected(self, ipc_main, age_years) -> np.ndarray:
        """Cohort mean cumulative forward citations at ``age_years`` (floored at 1 year) for each patent's
        IPC section (float64, > 0)."""
        section = category_codes(np.asarray(ipc_main, dtype=object), IPC_SECTIONS, key=lambda code: str(code)[:1])
        sec = np.where(section >= 0, section, len(IPC_SECTIONS))
        age = np.maximum(np.asarray(age_years, float), 1.0)
        return self._table[sec, _age_index(age)]


CITATION_WINDOW_YEARS = 5.0


def indicator_columns(
    patents: pd.DataFrame, as_of, cohorts: CitationCohorts, rows: np.ndarray | None = None,
    events: PatentEvents | None = None, citation_window_years: float = CITATION_WINDOW_YEARS,
) -> dict[str, np.ndarray]:
    """The indicators as float64 arrays, in ``PATENT_INDICATOR_NAMES`` order.

    ``rows``: optional positions into ``patents`` (one per output row; may repeat a patent, e.g. one
    per pledge); default all rows in order. ``as_of``: the valuation date per output row
    (datetime64 array-like) or one date for all.

    ``events`` (``patent_events(patents, citations, legal)``): with dated citations,
    ``forward_citations_norm`` counts the citations dated before ``as_of`` within
    ``citation_window_years`` of filing, over the cohort mean at the same window (the window is
    truncated at ``as_of`` for younger patents), and ``self_citation_share`` uses the citations
    before ``as_of``; with dated legal events, ``litigation_count`` and ``invalidation_requests``
    count events before ``as_of`` and ``is_valid`` is 0 once a lapse or invalidation is dated
    before it. Without them the patents table's counts (as of its ``appraisal_date``) are used,
    forward citations over the cohort mean at the appraisal age. Nothing dated on or after
    ``as_of`` enters any indicator.
    """
    events = events if events is not None else NO_EVENTS
    take = (lambda a: a) if rows is None else (lambda a: a[rows])
    n = len(patents) if rows is None else len(rows)
    row_pos = np.arange(len(patents)) if rows is None else np.asarray(rows, np.int64)
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
    ipc = take(patents["ipc_main"].to_numpy(dtype=object))
    if events.has_citations:
        window = np.minimum(cols["age_years"], citation_window_years)
        in_window, before, own = events.citations_before(as_of, row_pos, filing, citation_window_years)
        cols["forward_citations_norm"] = in_window / cohorts.expected(ipc, window)
        cols["self_citation_share"] = np.where(before > 0, own / np.maximum(before, 1.0), 0.0)
    else:
        appraisal_age = np.maximum(years_between(take(_dates(patents["appraisal_date"])), filing), 0.0)
        cols["forward_citations_norm"] = take(_num(patents, "forward_citations")) / cohorts.expected(ipc, appraisal_age)
    if events.has_legal:
        cols["litigation_count"] = events.legal_before(as_of, row_pos, ("litigation_filed",))
        cols["invalidation_requests"] = events.legal_before(as_of, row_pos, ("invalidation_requested",))
        ended = events.legal_before(as_of, row_pos, ("lapsed", "invalidated"))
        cols["is_valid"] = np.where(ended > 0, 0.0, cols["is_valid"])
    for name in PATENT_INDICATOR_NAMES:  # the rest are the contract columns themselves
        if name not in cols:
            cols[name] = take(_num(patents, name))
    return {name: cols[name] for name in PATENT_INDICATOR_NAMES}


def patent_indicators(
    patents: pd.DataFrame, as_of: pd.Series | pd.Timestamp, cohorts: CitationCohorts, events: PatentEvents | None = None,
    citation_window_years: float = CITATION_WINDOW_YEARS,
) -> pd.DataFrame:
    """Indicators per patent: DataFrame indexed by ``patent_id``, float64 columns ``PATENT_INDICATOR_NAMES``.

    ``as_of``: one valuation date for all, or a Series of dates indexed by ``patent_id`` (for a
    pledged patent, the loan's origination date). ``cohorts``: from ``CitationCohorts.learn``;
    ``events``: the dated events (``patent_events``), see ``indicator_columns``.
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
    cols = indicator_columns(patents, dates, cohorts, events=events, citation_window_years=citation_window_years)
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
    patents: pd.DataFrame, loans: pd.DataFrame, pledges: pd.DataFrame, cohorts: CitationCohorts,
    events: PatentEvents | None = None, citation_window_years: float = CITATION_WINDOW_YEARS,
) -> pd.DataFrame:
    """Indicators per pledge, valued at the loan's origination date.

    DataFrame indexed by (``loan_id``, ``patent_id``) in pledge order, float64 columns ``PATENT_INDICATOR_NAMES``.
    """
    require_columns(patents, "patents", ("patent_id", *PATENT_SOURCE_COLUMNS))
    require_columns(loans, "loans", ("loan_id", "origination_date"))
    loan_pos, patent_pos = pledge_positions(patents, loans, pledges)
    as_of = _dates(loans["origination_date"])[loan_pos]
    cols = indicator_columns(patents, as_of, cohorts, rows=patent_pos, events=events, citation_window_years=citation_window_years)
    index = pd.MultiIndex.from_arrays([loans["loan_id"].to_numpy()[loan_pos], patents["patent_id"].to_numpy()[patent_pos]],
                                      names=["loan_id", "patent_id"])
    return pledge_frame(cols, index)


def pledge_frame(cols: Mapping[str, np.ndarray], index: pd.Index | None = None) -> pd.DataFrame:
    """Indicator arrays (``PATENT_INDICATOR_NAMES``, each (m,)) → one float64 frame, built as one
    block (one copy, not one per column); ``index``: e.g. (loan_id, patent_id), else 0..m-1."""
    names = list(PATENT_INDICATOR_NAMES)
    values = np.empty((len(names), len(cols[names[0]])), dtype=np.float64)  # one row per column: each column contiguous
    for j, name in enumerate(names):
        values[j] = cols[name]
    return pd.DataFrame(values.T, index=index, columns=names)
