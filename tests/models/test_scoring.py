"""The scoring facade with champions trained on the small demo book: directional, invariance and
consistency checks on whole decisions (what a credit officer sees)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("registry")]


@pytest.fixture(scope="module")
def book(trained):
    from pipelines.readers import read_book

    return read_book(trained["book"])


def _one(book: dict, loan_id: str) -> dict[str, pd.DataFrame]:
    loans = book["loans"][book["loans"]["loan_id"] == loan_id]
    pledges = book["pledges"][book["pledges"]["loan_id"] == loan_id]
    out = {
        "firms": book["firms"][book["firms"]["firm_id"].isin(loans["firm_id"])].copy(),
        "patents": book["patents"][book["patents"]["patent_id"].isin(pledges["patent_id"])].copy(),
        "loans": loans.copy(),
        "pledges": pledges.copy(),
    }
    for events in ("patent_citations", "patent_legal_events"):  # the pledged patents' dated events
        if events in book:
            out[events] = book[events][book[events]["patent_id"].isin(pledges["patent_id"])].copy()
    return out


@pytest.fixture(scope="module")
def sample_ids(book) -> list[str]:
    return book["loans"]["loan_id"].sample(12, random_state=3).tolist()


def test_higher_leverage_never_lowers_pd(bundle, book, sample_ids):
    for lid in sample_ids:
        t = _one(book, lid)
        base = bundle.score_frame(t, reasons=False)[0]["probability_of_default"].iloc[0]
        t["firms"]["liabilities_to_assets"] = t["firms"]["liabilities_to_assets"] + 0.5
        worse = bundle.score_frame(t, reasons=False)[0]["probability_of_default"].iloc[0]
        assert worse >= base - 1e-12


def test_larger_amount_on_same_collateral_never_lowers_pd_lgd_or_el(bundle, book, sample_ids):
    for lid in sample_ids:
        t = _one(book, lid)
        a = bundle.score_frame(t, reasons=False)[0].iloc[0]
        t["loans"]["amount"] = t["loans"]["amount"] * 1.5
        b = bundle.score_frame(t, reasons=False)[0].iloc[0]
        assert b["probability_of_default"] >= a["probability_of_default"] - 1e-12
        assert b["loss_given_default"] >= a["loss_given_default"] - 1e-12
        assert b["expected_loss"] > a["expected_loss"]
        assert b["ltv"] > a["ltv"]


def test_more_credit_enhancement_never_raises_lgd(bundle, book, sample_ids):
    for lid in sample_ids:
        t = _one(book, lid)
        t["loans"][["guarantee_share", "insurance_share", "compensation_share"]] = 0.0
        a = bundle.score_frame(t, reasons=False)[0].iloc[0]
        t["loans"]["compensation_share"] = 0.5
        b = bundle.score_frame(t, reasons=False)[0].iloc[0]
        assert b["loss_given_default"] <= a["loss_given_default"] + 1e-12
        assert b["loss_given_default"] == pytest.approx(a["loss_given_default"] * 0.5, rel=1e-6)


def test_a_loan_scores_the_same_alone_and_in_a_batch(bundle, book, sample_ids):
    batch = bundle.score_frame(book, reasons=False)[0].set_index("loan_id")
    for lid in sample_ids:
        alone = bundle.score_frame(_one(book, lid), reasons=False)[0].set_index("loan_id").loc[lid]
        for col in ("probability_of_default", "loss_given_default", "expected_loss", "max_loan_amount", "ltv_cap"):
            assert alone[col] == pytest.approx(batch.loc[lid, col], rel=1e-9, abs=1e-12)
        assert alone["recommendation"] == batch.loc[lid, "recommendation"]


def test_decision_is_consistent_reasons_add_up_and_limits_hold(bundle, book, sample_ids):
    pol = bundle.policy
    decisions = bundle.score(_one(book, sample_ids[0]) | {})
    d = decisions[0]
    assert d["expected_loss"] == pytest.approx(d["probability_of_default"] * d["loss_given_default"] * d["exposure_at_default"])
    assert d["grade"] in set(pol.master_scale.grade_labels) | {pol.master_scale.default_label}
    assert d["recommendation"] in ("approve", "refer", "decline") and d["decision_rule"]
    assert all(r["log_odds"] > 0 and r["description"] for r in d["reasons"])
    assert d["price"]["annual_rate"] > pol.pricing.funding_cost
    assert {c["patent_id"] for c in d["collateral"]} == set(_one(book, sample_ids[0])["pledges"]["patent_id"])
    for c in d["collateral"]:
        assert 0 <= c["value_score"] <= 100 and 0 <= c["expected_liquidation_value"] <= c["appraised_value"] * 1.5
    # additivity: contributions sum to the calibrated log-odds
    t = _one(book, sample_ids[0])
    X = bundle.features(t)[list(bundle.pd_model.feature_names_)]
    contrib = bundle.pd_model.contributions(X)
    assert contrib.to_numpy().sum() == pytest.approx(float(logit(bundle.pd_model.predict_pd(X)[0])), abs=1e-9)
    # the largest approvable amount keeps EL rate and LTV inside the limits
    f = bundle.score_frame(t, reasons=False)[0].iloc[0]
    if f["max_loan_amount"] > 0:
        t2 = {k: v.copy() for k, v in t.items()}
        t2["loans"]["amount"] = f["max_loan_amount"]
        g = bundle.score_frame(t2, reasons=False)[0].iloc[0]
        assert g["ltv"] <= g["ltv_cap"] * (1 + 1e-6)
        assert f["probability_of_default"] * g["loss_given_default"] <= pol.limits.max_el_rate * (1 + 1e-4)


def test_counterfactual_amount_is_approved_and_more_is_not(bundle, book):
    frame = bundle.score_frame(book, reasons=False)[0]
    refused = frame[frame["recommendation"] != "approve"]["loan_id"].head(6).tolist()
    checked = 0
    for lid in refused:
        t = _one(book, lid)
        d = bundle.score(t)[0]
        cf = d["counterfactual"]
        if cf["amount"] is None:
            assert cf["reason"] != "reduced_amount"
            continue
        t2 = {k: v.copy() for k, v in t.items()}
        t2["loans"]["amount"] = cf["amount"]
        assert bundle.score_frame(t2, reasons=False)[0]["recommendation"].iloc[0] == "approve"
        if cf["reason"] == "reduced_amount":
            t2["loans"]["amount"] = cf["amount"] * 1.05
            assert bundle.score_frame(t2, reasons=False)[0]["recommendation"].iloc[0] != "approve"
        checked += 1
    assert checked + len(refused) > 0


def test_collateral_valuation_of_patents_alone(bundle, book):
    pats = book["patents"].head(3)
    v = bundle.value_collateral(pats, pd.Timestamp("2024-06-30"))
    assert len(v["patents"]) == 3
    assert 0 < v["ltv_cap"] <= bundle.policy.collateral.ltv_ceiling
    assert 0 <= v["expected_liquidation_value"] <= v["total_appraised_value"] * 1.5
    assert 0 <= v["probability_of_sale"] <= 1
    assert np.isclose(v["total_appraised_value"], pats["appraised_value"].sum())
