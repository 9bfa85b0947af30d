"""The lapse effect on the decision: a pledge near the end of its life, or from a cohort that lapses
early, is worth less at the workout horizon and loses more given default (directional tests), with the
statutory fallback and with a survival model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts.errors import ModelError
from models.pledge_survival import in_force_probability, in_force_share_by_loan, in_force_share_of_loans, statutory_in_force
from models.survival import PatentSurvivalModel, SurvivalConfig


def _pledges(n: int = 2, **over) -> pd.DataFrame:
    base = {"is_valid": 1.0, "is_invention": 1.0, "remaining_life_years": 12.0, "age_years": 8.0, "grant_lag_years": 2.0,
            "claims_count": 10.0, "scope": 2.0, "co_owners": 0.0, "appraised_value": 5.0e6}
    rows = [dict(base) for _ in range(n)]
    for k, vals in over.items():
        for r, v in zip(rows, vals):
            r[k] = v
    return pd.DataFrame(rows, index=pd.MultiIndex.from_arrays([[f"L{i}" for i in range(n)], [f"P{i}" for i in range(n)]],
                                                            names=["loan_id", "patent_id"]))


@pytest.fixture(scope="module")
def survival():
    """A small Cox model on synthetic rights where few claims mean an early lapse (a cohort that lapses early)."""
    rng = np.random.default_rng(0)
    n = 400
    claims = rng.integers(1, 30, n).astype(float)
    rate = 0.15 * np.exp(-0.08 * (claims - 10))
    t = rng.exponential(1.0 / rate)
    censor = np.minimum(rng.uniform(2, 15, n), 18.0)
    X = pd.DataFrame({"log_claims": np.log1p(claims), "grant_lag_years": rng.uniform(1, 4, n),
                      "applicants_count": rng.integers(1, 3, n).astype(float), "origin_us": np.zeros(n)})
    return PatentSurvivalModel(SurvivalConfig(kind="cox")).fit(X, np.minimum(t, censor) + 0.01, t <= censor)


def test_statutory_fallback_counts_a_right_only_if_its_term_outlives_the_horizon():
    ind = _pledges(3, remaining_life_years=[0.5, 3.0, 12.0], is_valid=[1.0, 1.0, 0.0])
    np.testing.assert_array_equal(statutory_in_force(ind, 2.0), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(in_force_probability(ind, 2.0), [0.0, 1.0, 0.0])


def test_survival_model_lowers_the_chance_for_a_cohort_that_lapses_early(survival):
    ind = _pledges(2, claims_count=[2.0, 25.0])
    p = in_force_probability(ind, 3.0, survival)
    assert 0.0 < p[0] < p[1] < 1.0
    # longer horizon, lower chance; the statutory end still caps it
    assert (in_force_probability(ind, 6.0, survival) < p).all()
    near_end = _pledges(1, remaining_life_years=[1.0])
    assert in_force_probability(near_end, 3.0, survival)[0] == 0.0


def test_in_force_share_weighs_rights_by_appraised_value():
    share = in_force_share_by_loan(["A", "A", "B"], [3.0, 1.0, 0.0], [1.0, 0.0, 0.5])
    assert share["A"] == pytest.approx(0.75) and share["B"] == pytest.approx(0.5)
    assert list(share.index) == ["A", "B"]


def test_in_force_share_by_position_gives_a_loan_without_rights_one():
    share = in_force_share_of_loans([0, 0, 2], 4, [3.0, 1.0, 2.0], [1.0, 0.0, 0.25])
    np.testing.assert_allclose(share, [0.75, 1.0, 0.25, 1.0])
    with pytest.raises(ModelError, match="positions"):
        in_force_share_of_loans([0, 5], 4, [1.0, 1.0], [1.0, 1.0])


@pytest.fixture(scope="module")
def book(trained):
    from pipelines.readers import read_book

    return read_book(trained["book"])


def _twin(book, loan_id, patch_patents):
    """One loan's tables with its pledged patents patched (the dated events kept)."""
    loans = book["loans"][book["loans"]["loan_id"] == loan_id].copy()
    pledges = book["pledges"][book["pledges"]["loan_id"] == loan_id].copy()
    patents = patch_patents(book["patents"][book["patents"]["patent_id"].isin(pledges["patent_id"])].copy())
    out = {"firms": book["firms"][book["firms"]["firm_id"].isin(loans["firm_id"])].copy(), "patents": patents,
           "loans": loans, "pledges": pledges}
    for ev in ("patent_citations", "patent_legal_events"):
        out[ev] = book[ev][book[ev]["patent_id"].isin(pledges["patent_id"])].copy()
    return out


def _liquidation_and_lgd(bundle, tables):
    d = bundle.score(tables, counterfactual=False)[0]
    return sum(c["expected_liquidation_value"] for c in d["collateral"]), d["loss_given_default"]


def test_a_patent_near_the_end_of_its_life_recovers_less_and_loses_more(bundle, book):
    X = bundle.features(book)
    loan = X.index[(X["pledged_patents"] == 1) & (X["pledged_is_valid_min"] == 1) & (X["pledged_remaining_life_years_min"] > 8)
                   & (X["ltv"] > 0.3)][0]
    keep = _twin(book, loan, lambda p: p)
    near = _twin(book, loan, lambda p: p.assign(expiry_date=p["appraisal_date"] + pd.Timedelta(days=400)))
    v_keep, lgd_keep = _liquidation_and_lgd(bundle, keep)
    v_near, lgd_near = _liquidation_and_lgd(bundle, near)
    assert v_near < v_keep and lgd_near > lgd_keep


def test_a_cohort_that_lapses_early_recovers_less_and_loses_more(bundle, book, survival):
    from dataclasses import replace

    X = bundle.features(book)
    ind = bundle.feature_builder.pledge_indicators(book).reset_index()
    one = ind.groupby("loan_id").filter(lambda g: len(g) == 1 and g["is_invention"].iloc[0] == 1 and g["is_valid"].iloc[0] == 1)
    loan = [lid for lid in one["loan_id"] if X.loc[lid, "ltv"] > 0.3][0]
    with_model = replace(bundle, survival_model=survival)
    few = _twin(book, loan, lambda p: p.assign(claims_count=1, independent_claims=1))
    many = _twin(book, loan, lambda p: p.assign(claims_count=40))
    # the value score also reads claims, so compare the lapse effect itself: with and without the model
    v_few, lgd_few = _liquidation_and_lgd(with_model, few)
    v_many, lgd_many = _liquidation_and_lgd(with_model, many)
    base_few, base_lgd_few = _liquidation_and_lgd(bundle, few)
    base_many, base_lgd_many = _liquidation_and_lgd(bundle, many)
    assert v_few / base_few < v_many / base_many
    assert lgd_few - base_lgd_few > lgd_many - base_lgd_many >= -1e-12
