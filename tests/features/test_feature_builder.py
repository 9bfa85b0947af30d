"""The per-loan frame: shape, dtypes, NaN policy, invariance to the batch, directions, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from feature_book import make_tables, single_request

from data_contracts import InputError, ModelError, load_contract
from features import FeatureBuilder, FeatureConfig, feature_specs, monotone_constraints, pledged_patent_indicators
from features.loan_frame import AMOUNT_FEATURES


def _nan_allowed(names) -> set[str]:
    return {s.name for s in feature_specs() if s.nan_when and s.name in names}


def _check_frame(frame: pd.DataFrame, builder: FeatureBuilder, loans: pd.DataFrame) -> None:
    assert list(frame.columns) == builder.feature_names_
    assert frame.index.name == "loan_id"
    assert frame.index.tolist() == loans["loan_id"].tolist()
    assert (frame.dtypes == np.float64).all()
    with_pledges = frame["pledged_patents"] > 0
    nan_cols = set(frame.columns[frame[with_pledges].isna().any()])
    assert nan_cols <= _nan_allowed(frame.columns), nan_cols - _nan_allowed(frame.columns)
    assert np.isfinite(frame.fillna(0.0).to_numpy()).all()


def test_shape_index_dtypes_and_nan_policy(frame, builder, book):
    _check_frame(frame, builder, book["loans"])
    assert (frame["pledged_patents"] >= 1).all()
    assert frame["interest_coverage"].isna().any()  # nullable in the contract, kept as NaN for LightGBM


def test_names_constraints_and_specs_align(builder):
    specs = feature_specs()
    assert builder.feature_names_ == [s.name for s in specs]
    assert builder.monotone_constraints_ == monotone_constraints(builder.feature_names_)
    assert len(builder.monotone_constraints_) == len(builder.feature_names_)
    assert builder.monotone_constraints_ == [s.direction for s in specs]
    assert set(builder.categorical_features_) <= set(builder.feature_names_)
    assert "interest_rate" not in builder.feature_names_
    assert not any("interest_rate" in q for s in specs for q in s.source_columns)


def test_pool_aggregates_match_a_plain_pandas_reference(frame, builder, book):
    ind = pledged_patent_indicators(book["patents"], book["loans"], book["pledges"], builder.cohorts_).reset_index()
    w = ind["appraised_value"]
    ref_claims = (ind["claims_count"] * w).groupby(ind["loan_id"]).sum() / w.groupby(ind["loan_id"]).sum()
    np.testing.assert_allclose(frame.loc[ref_claims.index, "pledged_claims_count_wmean"], ref_claims, rtol=1e-12)
    g = ind.groupby("loan_id")
    np.testing.assert_array_equal(frame.loc[g.size().index, "pledged_patents"], g.size().astype(float))
    np.testing.assert_allclose(frame.loc[g.size().index, "total_appraised_value"], g["appraised_value"].sum())
    np.testing.assert_array_equal(frame.loc[g.size().index, "pledged_litigation_count_max"], g["litigation_count"].max())
    np.testing.assert_array_equal(frame.loc[g.size().index, "pledged_remaining_life_years_min"], g["remaining_life_years"].min())
    np.testing.assert_allclose(
        frame.loc[g.size().index, "concentration"], g["appraised_value"].max() / g["appraised_value"].sum()
    )
    np.testing.assert_allclose(frame.loc[g.size().index, "invention_share"], g["is_invention"].mean())
    # weighted grant lag skips pending patents and renormalises the weights
    lag = ind.dropna(subset=["grant_lag_years"])
    ref_lag = (lag["grant_lag_years"] * lag["appraised_value"]).groupby(lag["loan_id"]).sum() / lag.groupby("loan_id")["appraised_value"].sum()
    np.testing.assert_allclose(frame.loc[ref_lag.index, "pledged_grant_lag_years_wmean"], ref_lag, rtol=1e-12)


def test_loan_structure_definitions(frame, book):
    loans = book["loans"].set_index("loan_id")
    firms = book["firms"].set_index("firm_id")
    total = frame["total_appraised_value"]
    np.testing.assert_allclose(frame["ltv"], np.minimum(loans["amount"] / total, FeatureConfig().ltv_cap))
    enh = loans[["guarantee_share", "insurance_share", "compensation_share"]].sum(axis=1).clip(0, 1)
    np.testing.assert_allclose(frame["enhancement_share"], enh)
    np.testing.assert_allclose(
        frame["coverage_after_enhancements"],
        np.minimum(total / (loans["amount"] * (1 - enh)), FeatureConfig().coverage_cap),
    )
    np.testing.assert_allclose(frame["log_amount"], np.log(loans["amount"]))
    np.testing.assert_allclose(frame["amount_to_assets"], loans["amount"] / firms.loc[loans["firm_id"], "total_assets"].to_numpy())
    np.testing.assert_allclose(frame["log_revenue"], np.log1p(firms.loc[loans["firm_id"], "revenue"].to_numpy()))
    allowed = load_contract("firms").column("sector").allowed
    np.testing.assert_array_equal(
        frame["sector_code"], [allowed.index(s) for s in firms.loc[loans["firm_id"], "sector"]]
    )


def test_single_request_equals_its_row_in_the_batch(builder, book, frame):
    for loan_id in book["loans"]["loan_id"].iloc[[0, 17, 123, 299]]:
        one = builder.transform(single_request(book, loan_id))
        assert one.shape == (1, len(builder.feature_names_))
        pd.testing.assert_frame_equal(one, frame.loc[[loan_id]], check_exact=False, rtol=1e-12, atol=0)


def test_rows_do_not_depend_on_other_loans_or_their_order(builder, book, frame):
    loans = book["loans"].sample(frac=0.5, random_state=1)  # a shuffled subset; pledges of others ignored
    part = builder.transform({**book, "loans": loans})
    pd.testing.assert_frame_equal(part, frame.loc[loans["loan_id"]], check_exact=False, rtol=1e-12, atol=0)


def _bump(book, loan_id, table, column, factor, pick=0):
    """Copy of the request for ``loan_id`` with one patent's (or the loan's) ``column`` multiplied."""
    req = single_request(book, loan_id)
    t = req[table].copy()
    col = t.columns.get_loc(column)
    t.iloc[pick, col] = type(t.iloc[pick, col])(t.iloc[pick, col] * factor)
    req[table] = t
    return req


def test_directional_more_claims_raise_the_pool_claims(builder, book, frame):
    loan_id = book["loans"]["loan_id"].iloc[5]
    before = frame.loc[loan_id]
    after = builder.transform(_bump(book, loan_id, "patents", "claims_count", 5)).iloc[0]
    assert after["pledged_claims_count_wmean"] > before["pledged_claims_count_wmean"]
    assert after["ltv"] == before["ltv"]


def test_directional_amount_and_value_move_ltv_and_coverage(builder, book, frame):
    loan_id = book["loans"]["loan_id"].iloc[9]
    before = frame.loc[loan_id]
    bigger = builder.transform(_bump(book, loan_id, "loans", "amount", 1.5)).iloc[0]
    assert bigger["ltv"] > before["ltv"] and bigger["log_amount"] > before["log_amount"]
    assert bigger["coverage_after_enhancements"] < before["coverage_after_enhancements"]
    richer = builder.transform(_bump(book, loan_id, "patents", "appraised_value", 3.0)).iloc[0]
    assert richer["total_appraised_value"] > before["total_appraised_value"]
    assert richer["ltv"] < before["ltv"]
    assert richer["coverage_after_enhancements"] > before["coverage_after_enhancements"]


def test_edge_cases_no_pledges_zero_values_and_repledged_patent(builder, book):
    req = single_request(book, book["loans"]["loan_id"].iloc[2])
    bare = builder.transform({**req, "pledges": req["pledges"].head(0), "patents": req["patents"].head(0)}).iloc[0]
    assert bare["pledged_patents"] == 0 and bare["total_appraised_value"] == 0
    assert bare["ltv"] == FeatureConfig().ltv_cap
    assert np.isnan(bare["pledged_claims_count_wmean"]) and np.isnan(bare["concentration"])

    zero = {**req, "patents": req["patents"].assign(appraised_value=0.0)}
    row = builder.transform(zero).iloc[0]
    assert row["pledged_claims_count_wmean"] == pytest.approx(req["patents"]["claims_count"].astype(float).mean())
    assert row["ltv"] == FeatureConfig().ltv_cap

    # the same patent pledged to two loans is valued at each loan's own origination date
    loans = pd.concat([req["loans"], req["loans"].assign(loan_id="L999999", origination_date=req["loans"]["origination_date"] + pd.Timedelta(days=730))])
    pledges = pd.concat([req["pledges"], req["pledges"].assign(loan_id="L999999")])
    two = builder.transform({**req, "loans": loans, "pledges": pledges})
    older = two.iloc[1]["pledged_age_years_wmean"] - two.iloc[0]["pledged_age_years_wmean"]
    assert older == pytest.approx(730 / 365.25, rel=1e-9)
    assert two.iloc[0]["pledged_patents"] == two.iloc[1]["pledged_patents"] == len(req["pledges"])


def test_empty_batch_gives_an_empty_frame_with_all_columns(builder, book):
    X = builder.transform({**book, "loans": book["loans"].head(0)})
    assert X.shape == (0, len(builder.feature_names_))
    assert list(X.columns) == builder.feature_names_ and (X.dtypes == np.float64).all()


def test_onehot_encoding(book):
    b = FeatureBuilder(FeatureConfig(categorical_encoding="onehot", min_cohort_size=5)).fit(book)
    X = b.transform(book)
    assert list(X.columns) == [s.name for s in feature_specs("onehot")]
    assert b.categorical_features_ == []
    sector = X[[c for c in X.columns if c.startswith("sector__")]]
    assert sector.shape[1] == len(load_contract("firms").column("sector").allowed)
    np.testing.assert_array_equal(sector.sum(axis=1), 1.0)
    assert monotone_constraints(list(X.columns)) == b.monotone_constraints_


def test_pickling_round_trip(builder, book, frame):
    clone = pickle.loads(pickle.dumps(builder))
    assert clone.cohorts_ == builder.cohorts_ and clone.feature_names_ == builder.feature_names_
    pd.testing.assert_frame_equal(clone.transform(book), frame)


def test_fit_learns_only_the_cohorts(book):
    a = FeatureBuilder().fit(book)
    other = make_tables(200, seed=11)
    b = FeatureBuilder().fit(other)
    assert a.cohorts_ != b.cohorts_  # different books, different cohort means
    req = single_request(book, book["loans"]["loan_id"].iloc[0])
    xa, xb = a.transform(req).iloc[0], b.transform(req).iloc[0]
    differs = xa.index[~np.isclose(xa, xb, equal_nan=True)].tolist()
    assert set(differs) <= {"pledged_forward_citations_norm_wmean", "pledged_forward_citations_norm_max"}


def test_user_errors(builder, book):
    with pytest.raises(ModelError, match="not fitted"):
        FeatureBuilder().transform(book)
    with pytest.raises(InputError, match="table 'pledges' is missing"):
        builder.transform({k: v for k, v in book.items() if k != "pledges"})
    with pytest.raises(InputError, match="loans.*amount"):
        builder.transform({**book, "loans": book["loans"].drop(columns=["amount"])})
    with pytest.raises(InputError, match="loans.firm_id.*foreign_key"):
        builder.transform({**book, "firms": book["firms"].iloc[1:]})
    with pytest.raises(Exception, match="categorical_encoding"):
        FeatureConfig(categorical_encoding="ordinal")


def test_settings_section_builds_the_config():
    from pipelines.settings import load_section

    cfg = load_section("features", FeatureConfig)
    assert isinstance(cfg, FeatureConfig)


@pytest.mark.slow
def test_demo_book(demo_book):
    b = FeatureBuilder().fit(demo_book)
    X = b.transform(demo_book)
    _check_frame(X, b, demo_book["loans"])
    loan_id = demo_book["loans"]["loan_id"].iloc[len(X) // 2]
    one = b.transform(single_request(demo_book, loan_id))
    pd.testing.assert_frame_equal(one, X.loc[[loan_id]], check_exact=False, rtol=1e-12, atol=0)


def test_at_amounts_equals_transform_with_the_amounts_replaced(builder, book, frame):
    """The counterfactual grid's shortcut: loans at other amounts, only the amount's features redone,
    equal ``transform`` of the book with those amounts, bit for bit; the rest is copied."""
    rng = np.random.default_rng(4)
    amounts = book["loans"]["amount"].to_numpy(float)[:, None] * rng.uniform(0.001, 1.0, (len(frame), 3))
    got = builder.at_amounts(frame, book, amounts)
    assert got.shape == (3 * len(frame), frame.shape[1]) and list(got.columns) == list(frame.columns)
    for j in range(3):
        loans = book["loans"].copy()
        loans["amount"] = amounts[:, j]
        want = builder.transform({**book, "loans": loans})
        pd.testing.assert_frame_equal(got.iloc[j::3], want, check_exact=True)


def test_amount_features_are_exactly_those_computed_from_the_loan_amount(builder):
    from_amount = {s.name for s in feature_specs() if "loans.amount" in s.source_columns}
    assert from_amount == set(AMOUNT_FEATURES)


def test_at_amounts_refuses_loans_the_tables_do_not_hold(builder, book, frame):
    with pytest.raises(InputError, match="at_amounts"):
        builder.at_amounts(frame, {**book, "loans": book["loans"].iloc[1:]}, np.ones((len(frame), 2)))
    with pytest.raises(ModelError, match="amounts must be"):
        builder.at_amounts(frame, book, np.ones(len(frame)))
