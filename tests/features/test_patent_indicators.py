"""Per-patent indicators: shape, definitions, cohort normalisation, as_of alignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts import InputError, ModelError
from features import PATENT_INDICATOR_NAMES, CitationCohorts, patent_indicators, pledged_patent_indicators
from features.patent_indicators import SECONDS_PER_YEAR

AS_OF = pd.Timestamp("2024-06-30")


@pytest.fixture(scope="module")
def cohorts(book):
    return CitationCohorts.learn(book["patents"], min_cohort_size=5)


@pytest.fixture(scope="module")
def ind(book, cohorts):
    return patent_indicators(book["patents"], AS_OF, cohorts)


def test_one_float_row_per_patent_with_the_agreed_columns(book, ind):
    assert list(ind.columns) == list(PATENT_INDICATOR_NAMES)
    assert ind.index.name == "patent_id"
    assert ind.index.tolist() == book["patents"]["patent_id"].tolist()
    assert (ind.dtypes == np.float64).all()
    nan_cols = ind.columns[ind.isna().any()].tolist()
    assert nan_cols in ([], ["grant_lag_years"])


def test_legal_definitions(book, ind):
    p = book["patents"].set_index("patent_id")
    np.testing.assert_array_equal(ind["is_valid"], (p["legal_status"] == "granted").astype(float))
    one_hot = ind[["is_invention", "is_utility_model", "is_design"]]
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1.0)
    np.testing.assert_array_equal(ind["is_design"], (p["right_type"] == "design").astype(float))
    left = (p["expiry_date"] - AS_OF).dt.total_seconds().to_numpy() / SECONDS_PER_YEAR
    np.testing.assert_allclose(ind["remaining_life_years"], np.maximum(left, 0.0))
    term = (p["expiry_date"] - p["filing_date"]).dt.total_seconds().to_numpy() / SECONDS_PER_YEAR
    np.testing.assert_allclose(ind["remaining_life_share"], np.clip(np.maximum(left, 0) / term, 0, 1))
    np.testing.assert_array_equal(ind["claims_count"], p["claims_count"].astype(float))
    np.testing.assert_array_equal(ind["co_owners"], p["co_owners"].astype(float))


def test_technical_and_economic_definitions(book, ind):
    p = book["patents"].set_index("patent_id")
    pending = p["grant_date"].isna().to_numpy()
    assert pending.any()
    assert np.isnan(ind["grant_lag_years"].to_numpy()[pending]).all()
    assert not np.isnan(ind["grant_lag_years"].to_numpy()[~pending]).any()
    assert (ind["grant_lag_years"].dropna() >= 0).all()
    np.testing.assert_array_equal(ind["scope"], p["ipc_subclass_count"].astype(float))
    np.testing.assert_allclose(ind["log_appraised_value"], np.log1p(p["appraised_value"]))
    methods = ind[["appraisal_income", "appraisal_market", "appraisal_cost"]]
    np.testing.assert_array_equal(methods.sum(axis=1), 1.0)
    np.testing.assert_array_equal(ind["appraisal_market"], (p["appraisal_method"] == "market").astype(float))


def test_remaining_life_is_floored_at_zero_after_expiry(book, cohorts):
    late = patent_indicators(book["patents"], pd.Timestamp("2090-01-01"), cohorts)
    assert (late["remaining_life_years"] == 0).all()
    assert (late["remaining_life_share"] == 0).all()


def _aged(book, ages, per_year, ipc):
    """Patents with appraisal ages ``ages`` and exactly ``per_year`` citations a year (a stationary process)."""
    p = pd.concat([book["patents"]] * (len(ages) // len(book["patents"]) + 1), ignore_index=True).head(len(ages)).copy()
    p["filing_date"] = pd.Series(pd.Timestamp("2010-01-01"), index=p.index).astype(p["filing_date"].dtype)
    p["appraisal_date"] = (p["filing_date"] + pd.to_timedelta(np.asarray(ages) * 365.25, unit="D")).astype(p["appraisal_date"].dtype)
    p["forward_citations"] = pd.Series(np.rint(per_year * np.asarray(ages)), index=p.index).astype(p["forward_citations"].dtype)
    p["ipc_main"] = pd.Series(ipc, index=p.index, dtype=p["ipc_main"].dtype)
    p["patent_id"] = [f"CN{i:010d}" for i in range(len(p))]
    return p


def test_forward_citations_are_compared_with_their_section_at_the_same_age(book):
    ages = np.tile(np.linspace(1.0, 12.0, 45), 6)
    ipc = np.where(np.arange(len(ages)) % 2 == 0, "A61K", "G06F")
    per_year = np.where(ipc == "A61K", 40.0, 10.0)
    p = _aged(book, ages, per_year, ipc)
    cohorts = CitationCohorts.learn(p, min_cohort_size=2)  # 3 patents per (section, 0.25-year age) cell
    # valued at its appraisal date, every patent is exactly average for its section and age:
    # the normalised count neither grows with age nor carries the section's citation rate
    out = patent_indicators(p, pd.Series(p["appraisal_date"].to_numpy(), index=p["patent_id"]), cohorts)
    np.testing.assert_allclose(out["forward_citations_norm"], 1.0, rtol=0.15)
    assert cohorts.expected(["A61K"], [8.0])[0] > 3 * cohorts.expected(["G06F"], [8.0])[0]


def test_unseen_sections_use_the_all_section_curve_and_young_patents_the_one_year_value(book):
    cohorts = CitationCohorts.learn(book["patents"], min_cohort_size=5)
    g = np.asarray(cohorts.global_curve)
    np.testing.assert_allclose(cohorts.expected(["Z99Z"], [6.0]), g[int(6.0 / 0.25) - 1])
    np.testing.assert_allclose(cohorts.expected(["G06F"], [0.3]), cohorts.expected(["G06F"], [1.0]))
    assert (np.diff(g) >= 0).all() and (g > 0).all()


def test_as_of_series_is_aligned_by_patent_id(book, cohorts):
    p = book["patents"].head(20)
    dates = pd.Series(pd.date_range("2020-01-01", periods=20, freq="30D"), index=p["patent_id"].to_numpy())
    straight = patent_indicators(p, dates, cohorts)
    shuffled = patent_indicators(p, dates.sample(frac=1.0, random_state=0), cohorts)
    pd.testing.assert_frame_equal(straight, shuffled)
    one = patent_indicators(p.iloc[[7]], dates.iloc[7], cohorts)
    pd.testing.assert_frame_equal(one, straight.iloc[[7]])
    with pytest.raises(InputError, match="as_of has no date"):
        patent_indicators(p, dates.iloc[:5], cohorts)


def test_pledged_indicators_are_valued_at_origination(book, cohorts):
    pledged = pledged_patent_indicators(book["patents"], book["loans"], book["pledges"], cohorts)
    assert pledged.index.names == ["loan_id", "patent_id"]
    assert len(pledged) == len(book["pledges"])
    loan = book["loans"].iloc[4]
    mine = book["pledges"].loc[book["pledges"]["loan_id"] == loan["loan_id"], "patent_id"]
    patents = book["patents"][book["patents"]["patent_id"].isin(mine)]
    direct = patent_indicators(patents, loan["origination_date"], cohorts)
    got = pledged.xs(loan["loan_id"], level="loan_id").loc[direct.index]
    pd.testing.assert_frame_equal(got, direct, check_names=False)


def test_user_errors_name_the_table_and_column(book, cohorts):
    with pytest.raises(InputError, match="patents.*claims_count"):
        patent_indicators(book["patents"].drop(columns=["claims_count"]), AS_OF, cohorts)
    with pytest.raises(ModelError, match="empty"):
        CitationCohorts.learn(book["patents"].head(0))
    bad = book["pledges"].head(3).copy()
    bad["patent_id"] = ["CN999999999999", *bad["patent_id"].iloc[1:]]
    with pytest.raises(InputError, match="pledges.patent_id.*foreign_key.*CN999999999999"):
        pledged_patent_indicators(book["patents"], book["loans"], bad, cohorts)
