"""Decision arithmetic: EL, master scale, loan limit, price and recommendation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.errors import ContractError, ModelError
from models.decision import (
    DecisionConfig,
    LimitsConfig,
    MasterScale,
    PricingConfig,
    assign_grade,
    deterministic_lgd_fn,
    expected_loss,
    grade_midpoint,
    irb_capital,
    max_loan_amount,
    recommend,
    risk_based_price,
)
from models.lgd import loss_given_default


def test_expected_loss_broadcasts():
    np.testing.assert_allclose(expected_loss([0.01, 0.1], 0.5, 1e6), [5e3, 5e4])
    assert expected_loss(0.0, 0.7, 1e6) == 0.0


# --------------------------------------------------------------------------- master scale
def test_band_table_geometric_and_contiguous():
    s = MasterScale()
    t = s.band_table()
    assert len(t) == s.n_grades + 1 and t["grade"].iloc[-1] == "D"
    assert s.n_grades >= 10
    nd = t.iloc[:-1]
    assert nd["lower"].iloc[0] == pytest.approx(0.0003)
    np.testing.assert_allclose(nd["upper"].to_numpy()[:-1], nd["lower"].to_numpy()[1:])
    ratios = (nd["upper"] / nd["lower"]).to_numpy()[:-1]
    np.testing.assert_allclose(ratios, ratios[0])
    assert ((nd["midpoint"] > nd["lower"]) & (nd["midpoint"] < nd["upper"])).all()


def test_assign_grade_monotone_and_edges():
    s = MasterScale()
    p = np.r_[0.0, np.geomspace(1e-6, 0.999, 500), 1.0]
    g = assign_grade(p, s)
    order = {lab: i for i, lab in enumerate(s.band_table()["grade"])}
    ranks = np.array([order[x] for x in g])
    assert (np.diff(ranks) >= 0).all()
    assert g[0] == "1" and g[-1] == "D" and g[-2] == s.grade_labels[-1]
    # each midpoint maps back to its own grade
    t = s.band_table().iloc[:-1]
    assert list(assign_grade(t["midpoint"].to_numpy(), s)) == list(t["grade"])
    np.testing.assert_allclose(grade_midpoint(t["grade"].to_numpy(), s), t["midpoint"])


def test_assign_grade_rejects_bad_pd():
    with pytest.raises(ModelError, match="outside"):
        assign_grade([0.1, np.nan, 1.5])


def test_master_scale_validates():
    with pytest.raises(ContractError):
        MasterScale(n_grades=5)
    with pytest.raises(ContractError):
        MasterScale(pd_floor=0.5, pd_top=0.4)
    assert MasterScale(labels=tuple("ABCDEFGHIJKL"), default_label="X").grade_labels[0] == "A"


# --------------------------------------------------------------------------- loan limit
def _case(n=300, seed=0):
    rng = np.random.default_rng(seed)
    pd_ = rng.uniform(0.001, 0.3, n)
    v = rng.lognormal(15, 1, n)
    cap = rng.uniform(0.1, 0.5, n)
    frac = rng.uniform(0.0, 0.8, n)
    years = rng.uniform(0.5, 3, n)
    g = rng.uniform(0, 0.5, n)
    return pd_, v, cap, frac, years, g


def _lgd_fn(v, frac, years, g):
    return deterministic_lgd_fn(frac * v, years, 0.08, g, 0.0, 0.0)


def test_max_loan_meets_limits_and_a_bit_more_does_not():
    pd_, v, cap, frac, years, g = _case()
    lim = LimitsConfig(max_el_rate=0.02, max_expected_loss=200_000.0, max_amount=2e7)
    fn = _lgd_fn(v, frac, years, g)
    res = max_loan_amount(pd_, fn, v, cap, lim)
    a = res.amount
    el_rate = pd_ * fn(a)
    tol = 1e-9
    assert (a >= 0).all()
    assert (el_rate <= lim.max_el_rate + tol).all()
    assert (el_rate * a <= lim.max_expected_loss * (1 + tol)).all()
    assert (a <= cap * v * (1 + tol)).all() and (a <= lim.max_amount * (1 + tol)).all()
    searched = np.isin(res.binding, ["el_rate", "expected_loss"])
    assert searched.any() and (~searched).any()
    more = a * 1.001
    el_more = pd_ * fn(more)
    broke = (el_more > lim.max_el_rate) | (el_more * more > lim.max_expected_loss)
    assert broke[searched].all()
    # binding label tells which limit
    np.testing.assert_allclose(a[res.binding == "ltv"], (cap * v)[res.binding == "ltv"])
    np.testing.assert_allclose(a[res.binding == "max_amount"], lim.max_amount)


def test_max_loan_none_feasible_and_zero_collateral():
    lim = LimitsConfig(max_el_rate=0.02)
    res = max_loan_amount([0.5, 0.01, 0.01], [1.0, 0.5, 0.5], [1e6, 1e6, 0.0], [0.3, 0.3, 0.3], lim)
    assert res.amount[0] == 0.0 and res.binding[0] == "none_feasible"
    assert res.amount[1] == pytest.approx(3e5) and res.binding[1] == "ltv"
    assert res.amount[2] == 0.0


def test_max_loan_more_collateral_never_lowers_amount():
    pd_, v, cap, frac, years, g = _case(seed=1)
    lim = LimitsConfig()
    a1 = max_loan_amount(pd_, _lgd_fn(v, frac, years, g), v, cap, lim).amount
    a2 = max_loan_amount(pd_, _lgd_fn(v * 1.5, frac, years, g), v * 1.5, cap, lim).amount
    assert (a2 >= a1 * (1 - 1e-5)).all()
    a3 = max_loan_amount(np.minimum(pd_ * 2, 1.0), _lgd_fn(v, frac, years, g), v, cap, lim).amount
    assert (a3 <= a1 * (1 + 1e-5)).all()


def test_max_loan_currency_invariance():
    pd_, v, cap, frac, years, g = _case(seed=2)
    lim = LimitsConfig()
    k = 1000.0
    lim_k = dataclasses.replace(lim, max_expected_loss=lim.max_expected_loss / k, max_amount=lim.max_amount / k)
    a = max_loan_amount(pd_, _lgd_fn(v, frac, years, g), v, cap, lim)
    b = max_loan_amount(pd_, _lgd_fn(v / k, frac, years, g), v / k, cap, lim_k)
    np.testing.assert_allclose(b.amount * k, a.amount, rtol=1e-5)
    assert (a.binding == b.binding).all()


# --------------------------------------------------------------------------- pricing
def test_irb_capital_known_value_and_edges():
    # Basel corporate: PD 1%, LGD 45%, M 2.5 → K ≈ 7.39% (RW ≈ 92.3%)
    assert irb_capital(0.01, 0.45, 2.5)[()] == pytest.approx(0.0739, abs=5e-4)
    assert irb_capital(1.0, 0.45, 2.5)[()] == pytest.approx(0.0, abs=1e-6)
    assert irb_capital(0.0, 0.45, 2.5)[()] == pytest.approx(irb_capital(0.0003, 0.45, 2.5)[()])
    assert irb_capital(0.05, 0.0, 2.5)[()] == 0.0


def test_price_components_add_up_and_move_right():
    cfg = PricingConfig()
    pds = np.array([0.0, 0.005, 0.02, 0.08, 0.2])
    price = risk_based_price(pds, 0.6, 24, cfg)
    parts = price[["funding_cost", "expected_loss_rate", "capital_cost", "operating_cost"]].sum(axis=1)
    np.testing.assert_allclose(price["annual_rate"], parts)
    assert (np.diff(price["annual_rate"]) > 0).all()
    assert (price["expected_loss_rate"].iloc[0] == 0.0) and price["annual_rate"].iloc[0] > cfg.funding_cost
    lgd_up = risk_based_price(0.02, [0.2, 0.5, 0.8], 24, cfg)["annual_rate"]
    assert (np.diff(lgd_up) > 0).all()
    assert risk_based_price(1.0, 0.6, 24, cfg)["above_rate_cap"].iloc[0]


def test_price_pd_horizon_annualisation():
    term_pd = risk_based_price(0.10, 0.5, 36, PricingConfig(pd_horizon_months=0))
    assert term_pd["annual_pd"].iloc[0] == pytest.approx(1 - 0.9 ** (1 / 3))
    annual = risk_based_price(0.10, 0.5, 36, PricingConfig(pd_horizon_months=12))
    assert annual["annual_pd"].iloc[0] == pytest.approx(0.10)


def test_pricing_config_validates():
    with pytest.raises(ContractError):
        PricingConfig(confidence=1.5)


# --------------------------------------------------------------------------- recommendation
def test_recommend_rules_in_order():
    c = DecisionConfig()
    rec = recommend(
        pd=[0.01, 0.01, 0.2, 0.01, 0.01, 0.08, 0.01, 0.01, 1.0],
        el_rate=[0.005, 0.005, 0.01, 0.06, 0.005, 0.01, 0.03, 0.005, 0.5],
        ltv=[0.2, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2, 0.26, 0.2],
        ltv_cap=0.25,
        grade=["4", "4", "11", "4", "4", "9", "4", "4", "D"],
        config=c,
    )
    assert list(rec.decision) == ["approve", "decline", "decline", "decline", "approve", "refer", "refer", "refer", "decline"]
    assert list(rec.rule) == ["within_appetite", "ltv_far_above_cap", "pd_above_decline", "el_rate_above_decline",
                              "within_appetite", "pd_above_refer", "el_rate_above_refer", "ltv_above_cap", "grade_declined"]


def test_recommend_refer_grades_and_scalars():
    rec = recommend(0.01, 0.005, 0.1, 0.25, "12", DecisionConfig(refer_grades=("11", "12")))
    assert rec.decision.tolist() == ["refer"] and rec.rule.tolist() == ["grade_referred"]


SEVERITY = {"approve": 0, "refer": 1, "decline": 2}


@settings(max_examples=60, deadline=None)
@given(
    p=st.floats(0, 1), e=st.floats(0, 1), ltv=st.floats(0, 2), cap=st.floats(0.05, 0.6),
    dp=st.floats(0, 0.5), de=st.floats(0, 0.5), dl=st.floats(0, 0.5),
)
def test_recommend_riskier_never_better(p, e, ltv, cap, dp, de, dl):
    s = MasterScale()
    p2 = min(p + dp, 1.0)
    a = recommend(p, e, ltv, cap, assign_grade(p, s)).decision[0]
    b = recommend(p2, e + de, ltv + dl, cap, assign_grade(p2, s)).decision[0]
    assert SEVERITY[b] >= SEVERITY[a]


def test_decision_config_validates():
    with pytest.raises(ContractError):
        DecisionConfig(refer_pd=0.2, decline_pd=0.1)


def test_shares_summing_to_one_give_zero_loss_everywhere():
    fn = deterministic_lgd_fn(0.0, 1.0, 0.08, 0.5, 0.3, 0.2)
    np.testing.assert_allclose(fn(np.array([1e5, 1e6])), 0.0)
    res = max_loan_amount([0.3, 0.3], fn, [1e6, 1e6], [0.25, 0.25])
    np.testing.assert_allclose(res.amount, 2.5e5)
    assert loss_given_default(1e6, 0.0, 1.0, 0.08, 0.5, 0.5, 0.0) == 0.0


def test_settings_sections_build_the_configs():
    """pipelines/iprisk.yaml's sections name exactly the config fields (load_section rejects unknown keys)."""
    import dataclasses

    from models.collateral import CollateralScoreConfig
    from models.recovery import RecoveryConfig
    from pipelines.settings import load_section, raw_section

    for section, cls in [("collateral", CollateralScoreConfig), ("master_scale", MasterScale), ("limits", LimitsConfig),
                         ("pricing", PricingConfig), ("decision", DecisionConfig), ("recovery", RecoveryConfig)]:
        assert isinstance(load_section(section, cls), cls)
        assert set(raw_section(section)) == {f.name for f in dataclasses.fields(cls)}, section
