"""Recovery model: unbiased expected LGD against a known disposal model, components, errors, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from data_contracts.errors import ContractError, ModelError
from models.lgd import loss_given_default
from models.recovery import RecoveryConfig, RecoveryModel

RATE = 0.08


def disposal(n: int, seed: int):
    """Defaulted loans from a known disposal model: sale odds rise with x1, price with x2, time with x3."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.uniform(0, 1, n), "noise": rng.normal(size=n)})
    sold = rng.uniform(size=n) < expit(-0.3 + 1.0 * X["x1"].to_numpy())
    frac = expit(-1.0 + 0.8 * X["x2"].to_numpy() + 0.7 * rng.normal(size=n))
    years = np.maximum(0.5 + 2.0 * X["x3"].to_numpy() + 0.4 * rng.normal(size=n), 0.05)
    value = rng.lognormal(15, 0.5, n)
    ead = rng.uniform(0.1, 0.6, n) * value
    g = rng.uniform(0, 0.3, n)
    realised = loss_given_default(ead, np.where(sold, frac * value, 0.0), years, RATE, g, 0.0, 0.0)
    return dict(X=X, sold=sold, frac=np.where(sold, frac, np.nan), years=years, value=value, ead=ead, g=g, lgd=realised)


@pytest.fixture(scope="module")
def train():
    return disposal(1200, seed=1)


@pytest.fixture(scope="module")
def test_set():
    return disposal(3000, seed=2)


CONFIGS = {
    "lightgbm": RecoveryConfig(years_estimator="linear"),
    "linear": RecoveryConfig(sell_estimator="logistic", price_estimator="linear", years_estimator="mean", residuals="empirical"),
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def model(request, train):
    return RecoveryModel(CONFIGS[request.param]).fit(train["X"], train["sold"], train["frac"], train["years"])


def test_expected_lgd_unbiased(model, test_set):
    d = test_set
    e = model.expected_lgd(d["X"], d["ead"], d["value"], d["g"], 0.0, 0.0, RATE)
    assert e.shape == (len(d["ead"]),) and ((e >= 0) & (e <= 1)).all()
    se = d["lgd"].std() / np.sqrt(len(e))
    assert abs(e.mean() - d["lgd"].mean()) < 4 * se + 0.01


def test_mean_price_plug_in_would_understate_lgd(model, test_set):
    """The point of integrating: E[max(EAD − P·DF, 0)] ≥ max(EAD − E[P]·DF, 0)."""
    d = test_set
    comp = model.predict_components(d["X"])
    plug = loss_given_default(d["ead"], comp["p_sell"] * comp["expected_price_fraction"] * d["value"], comp["expected_years"], RATE, d["g"], 0, 0)
    e = model.expected_lgd(d["X"], d["ead"], d["value"], d["g"], 0.0, 0.0, RATE)
    assert e.mean() - plug.mean() > 0.02
    assert d["lgd"].mean() - plug.mean() > 4 * d["lgd"].std() / np.sqrt(len(e))


def test_components_follow_the_generating_model(model, test_set):
    d = test_set
    comp = model.predict_components(d["X"])
    assert list(comp.columns) == ["p_sell", "expected_price_fraction", "expected_years"]
    assert (comp.index == d["X"].index).all()
    assert np.corrcoef(comp["p_sell"], d["X"]["x1"])[0, 1] > 0.5
    assert np.corrcoef(comp["expected_price_fraction"], d["X"]["x2"])[0, 1] > 0.5
    assert abs(comp["p_sell"].mean() - d["sold"].mean()) < 0.04
    assert abs(comp["expected_years"].mean() - d["years"][d["sold"]].mean()) < 0.15


def test_lgd_directions(model, test_set):
    d = test_set
    X = d["X"].iloc[:200]
    base = model.expected_lgd(X, d["ead"][:200], d["value"][:200], 0.0, 0.0, 0.0, RATE)
    more_debt = model.expected_lgd(X, d["ead"][:200] * 1.5, d["value"][:200], 0.0, 0.0, 0.0, RATE)
    more_value = model.expected_lgd(X, d["ead"][:200], d["value"][:200] * 1.5, 0.0, 0.0, 0.0, RATE)
    shared = model.expected_lgd(X, d["ead"][:200], d["value"][:200], 0.2, 0.1, 0.1, RATE)
    assert (more_debt >= base - 1e-12).all() and (more_value <= base + 1e-12).all()
    np.testing.assert_allclose(shared, base * 0.6)


def test_edge_cases(model, test_set):
    d = test_set
    X = d["X"].iloc[:50]
    ead, v = d["ead"][:50], d["value"][:50]
    np.testing.assert_allclose(model.expected_lgd(X, ead, v, 0.5, 0.3, 0.2, RATE), 0.0)
    np.testing.assert_allclose(model.expected_lgd(X, ead, 0.0, 0.0, 0.0, 0.0, RATE), 1.0)
    np.testing.assert_allclose(model.expected_lgd(X, 0.0, v, 0.0, 0.0, 0.0, RATE), 0.0)


def test_currency_invariance(model, test_set):
    d = test_set
    X = d["X"].iloc[:100]
    a = model.expected_lgd(X, d["ead"][:100], d["value"][:100], d["g"][:100], 0.0, 0.0, RATE)
    b = model.expected_lgd(X, d["ead"][:100] / 1e4, d["value"][:100] / 1e4, d["g"][:100], 0.0, 0.0, RATE)
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_lgd_function_matches_and_pickles(model, test_set):
    d = test_set
    X = d["X"].iloc[:30]
    fn = model.lgd_function(X, d["value"][:30], 0.1, 0.0, 0.0, RATE)
    np.testing.assert_allclose(fn(d["ead"][:30]), model.expected_lgd(X, d["ead"][:30], d["value"][:30], 0.1, 0.0, 0.0, RATE))
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(clone.predict_components(X), model.predict_components(X))


def test_feature_columns_checked(model, test_set):
    X = test_set["X"].iloc[:5]
    pd.testing.assert_frame_equal(model.predict_components(X[X.columns[::-1]].assign(extra=1.0)), model.predict_components(X))
    with pytest.raises(ModelError, match="x2"):
        model.predict_components(X.drop(columns="x2"))


def test_too_few_defaults_raise(train):
    d = train
    with pytest.raises(ModelError, match=r"only 30 defaulted loan\(s\).*at least 50"):
        RecoveryModel().fit(d["X"].iloc[:30], d["sold"][:30], d["frac"][:30], d["years"][:30])
    with pytest.raises(ModelError, match="sales"):
        RecoveryModel(RecoveryConfig(min_sold=10_000)).fit(d["X"], d["sold"], d["frac"], d["years"])
    bad = d["frac"].copy()
    bad[np.flatnonzero(d["sold"])[0]] = np.nan
    with pytest.raises(ModelError, match="price_fraction"):
        RecoveryModel().fit(d["X"], d["sold"], bad, d["years"])
    with pytest.raises(ModelError, match="not fitted"):
        RecoveryModel().predict_components(d["X"])


def test_all_sold_uses_constant_probability(train):
    d = train
    m = RecoveryModel(CONFIGS["linear"]).fit(d["X"].iloc[:100], np.ones(100, bool), np.full(100, 0.3), d["years"][:100])
    p = m.predict_components(d["X"].iloc[:10])["p_sell"]
    assert (p > 0.98).all() and (p < 1).all()


def test_config_validates():
    with pytest.raises(ContractError, match="sell_estimator"):
        RecoveryConfig(sell_estimator="forest")


def test_batch_predictions_equal_the_estimators_own(model, test_set):
    """Large batches run LightGBM on all cores and every batch calls the boosters directly (without
    the sklearn wrappers' input checks); every number equals the fitted scikit-learn objects' own
    single-threaded predict / predict_proba, bit for bit."""
    X = pd.concat([test_set["X"]] * 2, ignore_index=True)  # 6,000 rows: above the one-thread batch size
    p, f_nodes, t_nodes = model.disposal_nodes(X)
    assert np.array_equal(p, model.sell_model_.predict_proba(X)[:, 1])
    mu = np.asarray(model.price_model_.predict(X), float)
    assert np.array_equal(f_nodes, model._cfg.price_fraction_cap * expit(mu[:, None] + model.price_nodes_[None, :]))
    mt = np.asarray(model.years_model_.predict(X), float)
    assert np.array_equal(t_nodes, np.maximum(mt[:, None] + model.years_nodes_[None, :], 0.0))
    for rows in (X.iloc[:50], X.iloc[[7]]):  # one thread; one row (the service's case: the booster called directly)
        p_small, f_small, t_small = model.disposal_nodes(rows)
        assert np.array_equal(p_small, model.sell_model_.predict_proba(rows)[:, 1])
        assert np.array_equal(f_small, f_nodes[rows.index])
        mt_small = np.asarray(model.years_model_.predict(rows), float)  # a linear model's bits follow its batch (BLAS)
        assert np.array_equal(t_small, np.maximum(mt_small[:, None] + model.years_nodes_[None, :], 0.0))


def test_lightgbm_time_to_recovery_predicts_as_its_estimator(train, test_set):
    m = RecoveryModel(RecoveryConfig(years_estimator="lightgbm")).fit(train["X"], train["sold"], train["frac"], train["years"])
    _, _, t_nodes = m.disposal_nodes(test_set["X"])
    mt = np.asarray(m.years_model_.predict(test_set["X"]), float)
    assert np.array_equal(t_nodes, np.maximum(mt[:, None] + m.years_nodes_[None, :], 0.0))


def test_lgd_function_equals_the_mean_shortfall_over_nodes(model, test_set):
    """The sorted-prefix arithmetic gives E[(EAD − PV)⁺] over the equally weighted (price, time) nodes."""
    d = test_set
    X, v, ead = d["X"].iloc[:200], d["value"][:200], d["ead"][:200]
    p, f_nodes, t_nodes = model.disposal_nodes(X)
    pv = f_nodes[:, :, None] * v[:, None, None] * (1.0 + RATE) ** -t_nodes[:, None, :]
    shortfall = np.maximum(ead[:, None, None] - pv, 0.0).mean(axis=(1, 2))
    gross = p * shortfall + (1.0 - p) * ead
    want = loss_given_default(ead, ead - gross, 0.0, RATE, 0.0, 0.0, 0.0)
    np.testing.assert_allclose(model.lgd_function(X, v, 0.0, 0.0, 0.0, RATE)(ead), want, rtol=1e-9, atol=1e-12)
