"""The patent survival model: censoring handled (synthetic data with a known hazard), monotone
survival curves, conditional survival, determinism, and the evaluation helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts import ContractError, ModelError
from models.survival import (
    PatentSurvivalModel,
    SurvivalConfig,
    calibration_table,
    harrell_c,
    kaplan_meier,
    kfold_indices,
    risk_bands,
    uno_c,
)

BASE_HAZARD = 0.15  # per year
BETA = 0.9  # log hazard ratio per unit of x1


def synthetic(n: int, seed: int, censor_max: float = 14.0):
    """Exponential lifetimes with hazard 0.15·exp(0.9·x1) (x2 is noise), censored by an independent
    uniform(0, censor_max) follow-up: about half the rows are censored."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    rate = BASE_HAZARD * np.exp(BETA * X["x1"].to_numpy())
    life = rng.exponential(1.0 / rate)
    follow = rng.uniform(0.5, censor_max, size=n)
    return X, np.minimum(life, follow), life <= follow, rate


def true_survival(rate: np.ndarray, horizons) -> np.ndarray:
    return np.exp(-np.outer(rate, np.asarray(horizons, float)))


@pytest.fixture(scope="module")
def data():
    return synthetic(1500, 1)


@pytest.fixture(scope="module")
def fitted(data):
    X, t, e, _ = data
    small = {"rsf_trees": 40}  # the default boosting (250 trees): fewer under-fit and compress the bands
    return {k: PatentSurvivalModel(SurvivalConfig(kind=k, **small)).fit(X, t, e) for k in ("cox", "gbm", "rsf", "ensemble")}


def test_synthetic_data_is_heavily_censored(data):
    _, _, e, _ = data
    assert 0.3 < 1 - e.mean() < 0.7


def test_cox_recovers_the_known_survival_curve(data, fitted):
    X, t, e, rate = data
    grid = pd.DataFrame({"x1": [-1.0, 0.0, 1.0], "x2": [0.0, 0.0, 0.0]})
    pred = fitted["cox"].predict_survival(grid, [2.0, 5.0, 8.0])
    truth = true_survival(BASE_HAZARD * np.exp(BETA * grid["x1"].to_numpy()), [2.0, 5.0, 8.0])
    assert np.abs(pred - truth).max() < 0.05
    # dropping the censored rows would bias survival down badly: the model must not do that
    naive = np.mean(t[e][:, None] > np.array([2.0, 5.0, 8.0]), axis=0)
    marginal = fitted["cox"].predict_survival(X, [2.0, 5.0, 8.0]).mean(axis=0)
    assert np.all(marginal - naive > 0.1)


@pytest.mark.parametrize("kind", ["gbm", "rsf", "ensemble"])
def test_every_kind_is_calibrated_on_fresh_data(fitted, kind):
    X2, t2, e2, rate2 = synthetic(1500, 2)
    pred = fitted[kind].predict_survival(X2, [2.0, 5.0, 8.0])
    truth = true_survival(rate2, [2.0, 5.0, 8.0])
    assert np.abs(pred.mean(axis=0) - truth.mean(axis=0)).max() < 0.04  # marginal curve
    bands, _ = risk_bands(fitted[kind].risk_score(X2), 4)
    tab = calibration_table(t2, e2, pred, [2.0, 5.0, 8.0], bands)
    assert tab["error"].abs().max() < 0.08 and tab["inside"].mean() >= 0.75


@pytest.mark.parametrize("kind", ["cox", "gbm", "rsf", "ensemble"])
def test_concordance_close_to_the_oracle(fitted, kind):
    X2, t2, e2, rate2 = synthetic(1500, 3)
    oracle = harrell_c(t2, e2, rate2)
    c = harrell_c(t2, e2, fitted[kind].risk_score(X2))
    assert c > oracle - 0.03 and c > 0.65


@pytest.mark.parametrize("kind", ["cox", "gbm", "rsf", "ensemble"])
def test_survival_curves_are_monotone_in_t(data, fitted, kind):
    X = data[0].head(200)
    m = fitted[kind]
    S = m.survival_curves(X)
    assert S.shape == (200, len(m.grid_)) and np.all(S[:, 0] == 1.0)
    assert np.all(np.diff(S, axis=1) <= 1e-12) and S.min() >= 0.0 and S.max() <= 1.0
    h = np.linspace(0, 15, 31)
    P = m.predict_survival(X, h)
    assert np.all(np.diff(P, axis=1) <= 1e-12)
    cond = m.predict_survival(X, [1.0, 3.0], elapsed_years=4.0)
    assert np.all((cond >= 0) & (cond <= 1)) and np.all(cond[:, 1] <= cond[:, 0])
    rm = m.restricted_mean_years(X)
    assert np.all((rm > 0) & (rm <= m.config.tau_years + 1e-9))
    np.testing.assert_allclose(m.risk_score(X), -rm)


def test_conditional_survival_is_a_ratio_of_the_curve(data, fitted):
    X = data[0].head(20)
    m = fitted["cox"]
    s = m.predict_survival(X, [3.0, 7.0])
    cond = m.predict_survival(X, [4.0], elapsed_years=3.0)[:, 0]
    np.testing.assert_allclose(cond, s[:, 1] / s[:, 0], rtol=1e-9)


def test_fits_are_deterministic(data):
    X, t, e, _ = data
    cfg = SurvivalConfig(kind="ensemble", rsf_trees=20, gbm_trees=50)
    a = PatentSurvivalModel(cfg).fit(X, t, e).predict_survival(X.head(50), [3, 5, 8])
    b = PatentSurvivalModel(cfg).fit(X, t, e).predict_survival(X.head(50), [3, 5, 8])
    np.testing.assert_array_equal(a, b)
    c = PatentSurvivalModel(SurvivalConfig(kind="ensemble", rsf_trees=20, gbm_trees=50, random_state=7)).fit(X, t, e)
    assert not np.array_equal(a, c.predict_survival(X.head(50), [3, 5, 8]))


def test_missing_indicators_are_imputed_with_training_medians(data, fitted):
    X = data[0].head(5).copy()
    m = fitted["cox"]
    Xn = X.copy()
    Xn.loc[Xn.index[0], "x2"] = np.nan
    Xm = X.copy()
    Xm.loc[Xm.index[0], "x2"] = m.medians_["x2"]
    np.testing.assert_allclose(m.predict_survival(Xn, [5.0]), m.predict_survival(Xm, [5.0]))


def test_errors_name_the_problem(data):
    X, t, e, _ = data
    with pytest.raises(ModelError, match="not fitted"):
        PatentSurvivalModel().survival_curves(X)
    with pytest.raises(ModelError, match="times must be finite and > 0"):
        PatentSurvivalModel(SurvivalConfig(kind="cox")).fit(X, np.where(np.arange(len(t)) == 0, 0.0, t), e)
    with pytest.raises(ModelError, match="too little data"):
        PatentSurvivalModel(SurvivalConfig(kind="cox")).fit(X.head(10), t[:10], e[:10])
    m = PatentSurvivalModel(SurvivalConfig(kind="cox")).fit(X, t, e)
    with pytest.raises(ModelError, match=r"lacks indicator column\(s\) \['x2'\]"):
        m.predict_survival(X[["x1"]], [3.0])
    with pytest.raises(ModelError, match="horizons"):
        m.predict_survival(X, [-1.0])
    with pytest.raises(ContractError, match="kind='weibull'"):
        SurvivalConfig(kind="weibull")  # type: ignore[arg-type]


def test_concordance_helpers():
    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    e = np.array([True, True, True, True, False])
    assert harrell_c(t, e, -t) == 1.0 and harrell_c(t, e, t) == 0.0
    assert uno_c(t, e, t, e, -t, tau=4.5) == pytest.approx(1.0)
    km, lo, hi = kaplan_meier(t, e, [0.5, 2.5, 10.0])
    assert km[0] == 1.0 and km[1] == pytest.approx(0.6) and np.isnan(km[2]) and lo[1] < 0.6 < hi[1]
    folds = kfold_indices(10, 5, 0)
    assert len(folds) == 5 and sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(10))
    assert [te.tolist() for _, te in folds] == [te.tolist() for _, te in kfold_indices(10, 5, 0)]
    bands, edges = risk_bands([0.1, 0.2, 0.3, 0.4], 2)
    assert bands.tolist() == [0, 0, 1, 1] and risk_bands([0.24, 0.26], 2, edges)[0].tolist() == [0, 1]
