"""Reason codes and the counterfactual amount."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from data_contracts.errors import ModelError
from models.decision import DecisionConfig, MasterScale, assign_grade, deterministic_lgd_fn, recommend
from models.explain import counterfactual_amount, reason_codes, reason_codes_frame

DESCRIPTIONS = {"leverage": "Total liabilities over total assets (leverage)", "ltv": "Loan amount over appraised value",
                "revenue": "Annual revenue", "litigation": "Lawsuits involving the pledged patents"}


class Spec:  # stands in for features' FeatureSpec: anything with .description
    def __init__(self, description: str):
        self.description = description


def test_top_reasons_raise_risk_sorted():
    contrib = {"leverage": 0.8, "ltv": 0.3, "revenue": -0.5, "litigation": 0.05, "bias": -3.0}
    values = {"leverage": 0.92, "ltv": 0.4, "revenue": 1e6, "litigation": 2.0}
    reasons = reason_codes(contrib, DESCRIPTIONS, values, top_k=2)
    assert [r.feature for r in reasons] == ["leverage", "ltv"]
    assert all(r.direction == "raises risk" for r in reasons)
    assert reasons[0].description == DESCRIPTIONS["leverage"] and reasons[0].value == 0.92
    m = sum(contrib.values())
    assert reasons[0].pd_points == pytest.approx(expit(m) - expit(m - 0.8))
    assert reasons[0].pd_points > reasons[1].pd_points > 0
    assert reason_codes(contrib, DESCRIPTIONS, top_k=10)[-1].feature == "litigation"  # only positive ones
    assert all(r.feature != "bias" for r in reason_codes(contrib, DESCRIPTIONS, top_k=10, side="both"))


def test_lowering_side_and_fallback_description():
    contrib = pd.Series({"revenue": -0.5, "new_feature": -0.9, "leverage": 0.2})
    reasons = reason_codes(contrib, {"revenue": Spec("Annual revenue")}, side="lowers")
    assert [r.feature for r in reasons] == ["new_feature", "revenue"]
    assert reasons[0].description == "new feature" and reasons[1].description == "Annual revenue"
    assert all(r.direction == "lowers risk" and r.pd_points < 0 for r in reasons)


def test_no_positive_contributions_gives_no_reasons():
    assert reason_codes({"revenue": -0.5, "bias": -2.0}, DESCRIPTIONS) == []


def test_reason_codes_frame():
    contrib = pd.DataFrame({"leverage": [0.8, -0.1], "ltv": [0.3, 0.6], "bias": [-3.0, -3.0]}, index=["L1", "L2"])
    values = pd.DataFrame({"leverage": [0.9, 0.2], "ltv": [0.4, 0.5]}, index=["L1", "L2"])
    out = reason_codes_frame(contrib, DESCRIPTIONS, values, top_k=3)
    assert out[out.row == "L1"]["feature"].tolist() == ["leverage", "ltv"]
    assert out[out.row == "L2"]["feature"].tolist() == ["ltv"] and out[out.row == "L2"]["value"].iloc[0] == 0.5


# --------------------------------------------------------------------------- counterfactual
def _scorer(base_pd, value, frac, slope=0.5):
    """PD rises with LTV (logit slope per unit LTV), LGD from a known sale of ``frac`` × value."""
    lgd_fn = deterministic_lgd_fn(frac * value, 1.0, 0.08)

    def score(amount):
        ltv = amount / value
        p = expit(np.log(base_pd / (1 - base_pd)) + slope * ltv)
        return p, lgd_fn(amount)

    return score


def _approved(score, amount, value, cap, cfg, scale):
    p, lg = score(amount)
    return recommend(p, p * lg, amount / value, cap, assign_grade(p, scale), cfg).decision == "approve"


def test_counterfactual_is_approved_and_a_bit_more_is_not():
    rng = np.random.default_rng(0)
    n = 60
    value = rng.lognormal(15, 0.7, n)
    base_pd = rng.uniform(0.002, 0.05, n)
    frac = rng.uniform(0.0, 0.6, n)
    cap = rng.uniform(0.15, 0.5, n)
    requested = value * rng.uniform(0.05, 0.9, n)
    cfg, scale = DecisionConfig(), MasterScale()
    score = _scorer(base_pd, value, frac)
    out = counterfactual_amount(score, requested, value, cap, cfg, scale)
    assert len(out) == n
    amounts = np.array([np.nan if c.amount is None else c.amount for c in out])
    found = ~np.isnan(amounts)
    reduced = np.array([c.reason == "reduced_amount" for c in out])
    assert reduced.any() and np.array([c.reason == "as_requested" for c in out]).any()
    a = np.where(found, amounts, requested)
    assert _approved(score, a, value, cap, cfg, scale)[found].all()
    assert (a[found] <= requested[found] * (1 + 1e-12)).all()
    assert not _approved(score, a * 1.001, value, cap, cfg, scale)[reduced].any()
    for c, v in zip(out, value):
        if c.amount is not None:
            assert c.ltv == pytest.approx(c.amount / v)
            assert c.requested_rule != "within_appetite" or c.reason == "as_requested"


def test_counterfactual_none_when_pd_alone_too_high():
    value = np.array([1e6])
    score = _scorer(np.array([0.3]), value, np.array([0.5]))
    (c,) = counterfactual_amount(score, 2e5, value, 0.3)
    assert c.amount is None and c.ltv is None
    assert c.reason == "pd_above_decline" and c.requested_rule == "pd_above_decline"


def test_counterfactual_with_zero_collateral():
    (c,) = counterfactual_amount(lambda a: (np.full_like(a, 0.01), np.ones_like(a)), 1e5, 0.0, 0.25)
    assert c.amount is None and c.reason == "ltv_far_above_cap"


def test_counterfactual_rejects_bad_request():
    with pytest.raises(ModelError, match="positive"):
        counterfactual_amount(lambda a: (a * 0 + 0.01, a * 0 + 0.5), [0.0], [1e6], [0.25])
