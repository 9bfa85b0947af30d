"""One feature row per loan, from the loan book's tables: the pledged patents' pool, the firm's
ratios and the loan's structure. The same code serves a 100k-loan training book and a single
request (one firm, a few patents, one loan).

``FeatureBuilder`` follows scikit-learn's conventions: configuration in ``__init__``, ``fit``
learns only the citation cohorts (for the OECD normalisation of forward citations), fitted state in
attributes ending in ``_``, no I/O, picklable. A loan's row depends only on its own firm, loan and
pledged patents (and on the fitted cohorts), never on the other loans in the batch.

Categories (sector, region, ownership type) are encoded from the contract's allowed values, so no
fitting is needed for them: ``"codes"`` (default) gives one float code per column in the contract's
order, to declare as LightGBM ``categorical_feature`` (``categorical_features_``); ``"onehot"`` gives
one 0/1 column per value, for linear models and scorecards. Unknown values become NaN / all zeros.

``loans.interest_rate`` is not a feature: it is an output of pricing (set after the bank judged the
risk), so feeding it back would leak that judgement into the PD model, and a new request has no rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from data_contracts import ContractError, InputError, ModelError, load_contract
from features.collateral_pool import pool_features
from features.patent_indicators import (
    CitationCohorts,
    PatentEvents,
    category_codes,
    indicator_columns,
    patent_events,
    pledge_frame,
    pledge_positions,
    pledged_patent_indicators,
    require_columns,
    years_between,
)
from features.specs import (
    ENHANCEMENT_COLUMNS,
    FIRM_CATEGORIES,
    PATENT_SOURCE_COLUMNS,
    FeatureSpec,
    categorical_feature_names,
    feature_specs,
    firm_numeric_columns,
    monotone_constraints,
)

Tables = Mapping[str, pd.DataFrame]
TABLES = ("firms", "patents", "loans", "pledges")
AMOUNT_FEATURES = ("amount_to_assets", "log_amount", "ltv", "coverage_after_enhancements")
"""Features computed from ``loans.amount`` (their specs list it among their inputs; a test checks)."""


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of the loan feature frame (section ``features`` of ``pipelines/iprisk.yaml``).

    min_cohort_size: fewest observations an (IPC section, age) cell needs for its own mean
        forward citations; smaller cells use the all-section mean at that age (default 20).
    citation_window_years: forward citations count within this many years of filing (OECD: 5),
        and only those dated before the loan's origination (default 5).
    categorical_encoding: ``"codes"`` (float codes, LightGBM categorical) or ``"onehot"``.
    ltv_cap: largest loan-to-value reported, and the value when nothing of value is pledged (default 10).
    coverage_cap: largest coverage after enhancements reported, and the value when enhancements
        cover the whole loss (default 100).
    """

    min_cohort_size: int = 20
    citation_window_years: float = 5.0
    categorical_encoding: Literal["codes", "onehot"] = "codes"
    ltv_cap: float = 10.0
    coverage_cap: float = 100.0

    def __post_init__(self) -> None:
        if self.categorical_encoding not in ("codes", "onehot"):
            raise ContractError(f"features: categorical_encoding must be 'codes' or 'onehot', got {self.categorical_encoding!r}")
        if not 0 < float(self.citation_window_years) <= 30:
            raise ContractError(f"features: citation_window_years must be in (0, 30], got {self.citation_window_years}")
        if int(self.min_cohort_size) < 1:
            raise ContractError(f"features: min_cohort_size must be >= 1, got {self.min_cohort_size}")
        if not (self.ltv_cap > 0 and self.coverage_cap > 0):
            raise ContractError(f"features: ltv_cap and coverage_cap must be > 0, got {self.ltv_cap}, {self.coverage_cap}")


def _table(tables: Tables, name: str) -> pd.DataFrame:
    try:
        frame = tables[name]
    except KeyError:
        raise InputError(f"features: table '{name}' is missing; need {list(TABLES)}") from None
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"features: table '{name}' must be a pandas DataFrame, got {type(frame).__name__}")
    return frame


@lru_cache(maxsize=8)
def _required(table: str) -> tuple[str, ...]:
    """Columns of ``table`` the features read: the specs' sources plus the keys."""
    keys = {"firms": ("firm_id",), "patents": ("patent_id",), "loans": ("loan_id", "firm_id"), "pledges": ("loan_id", "patent_id")}
    cols = [q.split(".", 1)[1] for s in feature_specs() for q in s.source_columns if q.startswith(table + ".")]
    if table == "patents":
        cols += list(PATENT_SOURCE_COLUMNS)
    return tuple(dict.fromkeys([*keys[table], *cols]))


@lru_cache(maxsize=1)
def _firm_numeric() -> tuple[tuple[str, bool], ...]:
    """(column, is money in CNY) for the numeric firm features."""
    firms = load_contract("firms")
    return tuple((name, firms.column(name).unit == "CNY") for name in firm_numeric_columns())


@lru_cache(maxsize=1)
def _firm_categories() -> tuple[tuple[str, list[str]], ...]:
    firms = load_contract("firms")
    return tuple((name, list(firms.column(name).allowed or ())) for name in FIRM_CATEGORIES)


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float, na_value=np.nan)


def _enhancement(loans: pd.DataFrame) -> np.ndarray:
    """Share of the loss covered by guarantee, insurance and compensation, per loan, in [0, 1]."""
    return np.clip(sum(np.nan_to_num(_num(loans, c)) for c in ENHANCEMENT_COLUMNS), 0.0, 1.0)


class FeatureBuilder:
    """tables (firms, patents, loans, pledges) -> one float64 feature row per loan.

    ``fit(tables)`` learns ``cohorts_`` (``CitationCohorts``) from ``tables["patents"]`` and sets
    ``feature_names_`` (column order), ``categorical_features_`` (for LightGBM),
    ``monotone_constraints_`` (aligned to ``feature_names_``) and ``specs_``.
    ``transform(tables)`` returns a DataFrame indexed by ``loan_id`` (order of ``tables["loans"]``)
    with columns ``feature_names_``, all float64.
    """

    def __init__(self, config: FeatureConfig | None = None):
        self.config = config if config is not None else FeatureConfig()

    # -- scikit-learn protocol -------------------------------------------------------------
    def fit(self, tables: Tables, y=None) -> FeatureBuilder:
        patents = _table(tables, "patents")
        self.cohorts_ = CitationCohorts.learn(patents, self.config.min_cohort_size, citations=tables.get("patent_citations"))
        enc = self.config.categorical_encoding
        self.specs_: tuple[FeatureSpec, ...] = feature_specs(enc)
        self.feature_names_: list[str] = [s.name for s in self.specs_]
        self.categorical_features_: list[str] = list(categorical_feature_names(enc))
        self.monotone_constraints_: list[int] = monotone_constraints(self.feature_names_)
        return self

    def fit_transform(self, tables: Tables, y=None) -> pd.DataFrame:
        return self.fit(tables).transform(tables)

    def get_feature_names_out(self) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self.feature_names_, dtype=object)

    def _check_fitted(self) -> None:
        if not hasattr(self, "cohorts_"):
            raise ModelError("features: FeatureBuilder is not fitted; call fit(tables) first")

    # -- features ------------------------------------------------------------------------------
    def pledge_indicators(self, tables: Tables) -> pd.DataFrame:
        """Patent indicators per pledge, valued at origination, indexed by (loan_id, patent_id)."""
        self._check_fitted()
        patents = _table(tables, "patents")
        return pledged_patent_indicators(
            patents, _table(tables, "loans"), _table(tables, "pledges"), self.cohorts_,
            events=self.events(tables, patents), citation_window_years=self.config.citation_window_years,
        )

    @staticmethod
    def events(tables: Tables, patents: pd.DataFrame) -> PatentEvents:
        """The optional dated-event tables (``patent_citations``, ``patent_legal_events``) indexed
        against ``patents``; indicators then use only events dated before each loan's origination."""
        return patent_events(patents, tables.get("patent_citations"), tables.get("patent_legal_events"))

    def transform(self, tables: Tables) -> pd.DataFrame:
        return self._transform(tables)[0]

    def transform_with_pledges(self, tables: Tables) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
        """``transform(tables)`` plus what it computed on the way for the collateral: the patent
        indicators per pledge (``pledge_indicators(tables)``'s values and order, indexed 0..m-1
        rather than by ids: building that MultiIndex cost more than the scores read from it), each
        pledge's loan (its row in ``X``, (m,)) and its row in ``tables["patents"]`` (m,); one
        indicator pass instead of two."""
        X, (indicators, loan_pos, patent_pos) = self._transform(tables)
        return X, pledge_frame(indicators), loan_pos, patent_pos

    def at_amounts(self, X: pd.DataFrame, tables: Tables, amounts: np.ndarray, loans: pd.DataFrame | None = None) -> pd.DataFrame:
        """``transform`` of the same loans with other amounts, without redoing the patent pass.

        ``X``: ``transform(tables)`` (n, k); ``amounts``: (n, g) CNY, row i for ``X``'s loan i;
        ``loans``: the loans table indexed by loan_id in ``X``'s order, when the caller has it
        (else built from ``tables``). Returns (n·g, k) float64 (row i·g + j: loan i at
        ``amounts[i, j]``; index: loan ids repeated): every column copied from ``X`` except those
        computed from ``loans.amount`` (:data:`AMOUNT_FEATURES`), which the same code as
        ``transform`` recomputes."""
        self._check_fitted()
        amounts = np.asarray(amounts, dtype=np.float64)
        if amounts.ndim != 2 or amounts.shape[0] != len(X):
            raise ModelError(f"features: at_amounts: amounts must be (loans, grid) = ({len(X)}, g), got shape {amounts.shape}")
        n, g = amounts.shape
        if loans is None:
            loans = _table(tables, "loans").set_index("loan_id").reindex(X.index)
        elif not loans.index.equals(X.index):
            raise ModelError("features: at_amounts: the loans given are not indexed by X's loan ids in X's order")
        firms = _table(tables, "firms")
        firm_pos = pd.Index(firms["firm_id"]).get_indexer(loans["firm_id"])
        if (firm_pos < 0).any():
            bad = X.index[firm_pos < 0][:5].tolist()
            raise InputError(f"features: at_amounts: loans {bad} of X lack a loans row or their firms.firm_id row in the tables given")
        assets = _num(firms, "total_assets")[firm_pos]
        rep = np.repeat(np.arange(n), g)
        out = X.to_numpy(np.float64)[rep]
        new = self._amount_columns(amounts.ravel(), X["total_appraised_value"].to_numpy(np.float64)[rep],
                                   _enhancement(loans)[rep], assets[rep])
        for j, c in enumerate(self.feature_names_):
            if c in new:
                out[:, j] = new[c]
        return pd.DataFrame(out, index=X.index[rep], columns=list(self.feature_names_))

    def _amount_columns(self, amount: np.ndarray, total: np.ndarray, enhancement: np.ndarray,
                        total_assets: np.ndarray) -> dict[str, np.ndarray]:
        """The features computed from the loan amount (CNY), per loan: :data:`AMOUNT_FEATURES`."""
        cfg = self.config
        uncovered = amount * (1.0 - enhancement)
        with np.errstate(divide="ignore", invalid="ignore"):
            ltv = np.where(total > 0, amount / np.where(total > 0, total, 1.0), cfg.ltv_cap)
            coverage = np.where(uncovered > 0, total / np.where(uncovered > 0, uncovered, 1.0), cfg.coverage_cap)
            to_assets = amount / total_assets
        return {"amount_to_assets": to_assets, "log_amount": np.log(np.maximum(amount, 1.0)),
                "ltv": np.minimum(ltv, cfg.ltv_cap), "coverage_after_enhancements": np.minimum(coverage, cfg.coverage_cap)}

    def _transform(self, tables: Tables) -> tuple[pd.DataFrame, tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]:
        self._check_fitted()
        frames = {name: _table(tables, name) for name in TABLES}
        for name, frame in frames.items():
            require_columns(frame, name, _required(name))
        firms, patents, loans, pledges = (frames[n] for n in TABLES)
        n = len(loans)
        cfg = self.config

        # pool of pledged patents, valued at each loan's origination date
        loan_pos, patent_pos = pledge_positions(patents, loans, pledges)
        origination = loans["origination_date"].to_numpy()
        indicators = indicator_columns(patents, origination[loan_pos], self.cohorts_, rows=patent_pos,
                                       events=self.events(tables, patents), citation_window_years=cfg.citation_window_years)
        cols: dict[str, np.ndarray] = pool_features(indicators, loan_pos, n)

        # firm
        firm_index = pd.Index(firms["firm_id"])
        if not firm_index.is_unique:
            dupes = firm_index[firm_index.duplicated()].unique().tolist()
            raise InputError(f"features: firms.firm_id: rule 'unique' broken, e.g. {dupes[:5]}")
        firm_pos = firm_index.get_indexer(loans["firm_id"])
        if (firm_pos < 0).any():
            bad = pd.unique(loans["firm_id"].to_numpy()[firm_pos < 0])[:5].tolist()
            raise InputError(
                f"features: loans.firm_id: rule 'foreign_key' (firms.firm_id) broken by {int((firm_pos < 0).sum())} row(s); e.g. {bad}"
            )
        for name, is_money in _firm_numeric():
            x = _num(firms, name)[firm_pos]
            if is_money:
                cols[f"log_{name}"] = np.log1p(np.maximum(x, 0.0))
            else:
                cols[name] = x
        cols["firm_age_years"] = years_between(origination, firms["founding_date"].to_numpy()[firm_pos])
        for name, allowed in _firm_categories():
            codes = category_codes(firms[name], allowed)[firm_pos]
            if cfg.categorical_encoding == "codes":
                cols[f"{name}_code"] = np.where(codes >= 0, codes, np.nan).astype(float)
            else:
                for i, v in enumerate(allowed):
                    cols[f"{name}__{v}"] = (codes == i).astype(float)

        # loan structure (CNY; shares are fractions)
        cols["term_months"] = _num(loans, "term_months")
        cols["enhancement_share"] = _enhancement(loans)
        cols.update(self._amount_columns(_num(loans, "amount"), cols["total_appraised_value"], cols["enhancement_share"],
                                         _num(firms, "total_assets")[firm_pos]))

        index = pd.Index(loans["loan_id"], name="loan_id")
        if not index.is_unique:
            dupes = index[index.duplicated()].unique().tolist()
            raise InputError(f"features: loans.loan_id: rule 'unique' broken, e.g. {dupes[:5]}")
        missing = [c for c in self.feature_names_ if c not in cols]
        if missing:  # a spec without code: a programming error, not a user's
            raise ModelError(f"features: no code computes feature(s) {missing}")
        out = np.empty((n, len(self.feature_names_)), dtype=np.float64)
        for j, c in enumerate(self.feature_names_):
            out[:, j] = cols[c]
        return pd.DataFrame(out, index=index, columns=list(self.feature_names_)), (indicators, loan_pos, patent_pos)
