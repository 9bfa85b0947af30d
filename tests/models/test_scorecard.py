"""Scorecard behaviour: points scaling, monotone trends from risk directions, reason codes, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from data_contracts.errors import ModelError
from models.metrics import auc
from models.scorecard import Scorecard, ScorecardConfig

DIRECTIONS = {"leverage": 1, "profitability": -1}


def make_book(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "leverage": rng.normal(size=n),
            "profitability": rng.normal(size=n),
            "age_years": rng.gamma(2.0, 4.0, size=n),
            "noise": rng.normal(size=n),
        }
    )
    z = -3.0 + 0.9 * X["leverage"] - 0.8 * X["profitability"] - 0.08 * X["age_years"]
    y = (rng.random(n) < expit(z)).astype(int).to_numpy()
    X.loc[rng.random(n) < 0.05, "age_years"] = np.nan
    return X, y


@pytest.fixture(scope="module")
def book():
    return make_book(6000, 4)


@pytest.fixture(scope="module")
def card(book):
    X, y = book
    return Scorecard(ScorecardConfig(pdo=20, base_points=600, base_odds=50), monotone_constraints=DIRECTIONS).fit(
        X.iloc[:4000], y[:4000]
    )


def test_trends_follow_risk_directions(card):
    assert card.trends_ == {
        "leverage": "ascending",
        "profitability": "descending",
        "age_years": "auto_asc_desc",
        "noise": "auto_asc_desc",
    }
    for name, trend in (("leverage", "ascending"), ("profitability", "descending")):
        t = card.points_table_[(card.points_table_.feature == name) & card.points_table_.bin.str.match(r"[\[(]")]
        rates = t["event_rate"].to_numpy()
        assert (np.diff(rates) >= 0).all() if trend == "ascending" else (np.diff(rates) <= 0).all()


def test_points_scale_with_pdo(card, book):
    X, _ = book
    Xt = X.iloc[4000:]
    pts = card.points(Xt)
    assert list(pts.columns) == card.features_ + ["total"]
    assert np.allclose(pts.drop(columns="total").sum(axis=1), pts["total"])
    # score = offset + factor * ln(good:bad odds), factor = pdo / ln 2
    assert card.factor_ == pytest.approx(20 / np.log(2))
    assert card.offset_ + card.factor_ * np.log(50) == pytest.approx(600)
    assert np.allclose(pts["total"], card.offset_ - card.factor_ * logit(card.predict_pd(Xt)))


@pytest.mark.parametrize("feature, sign", sorted(DIRECTIONS.items()))
def test_riskier_input_never_lowers_pd(card, book, feature, sign):
    X, _ = book
    base = X.iloc[4000:4100]
    grid = np.linspace(X[feature].quantile(0.01), X[feature].quantile(0.99), 30)[::sign]
    pds = np.array([card.predict_pd(base.assign(**{feature: v})) for v in grid])
    assert (np.diff(pds, axis=0) >= -1e-12).all()
    assert pds[-1].mean() > pds[0].mean()


def test_discriminates(card, book):
    X, y = book
    assert auc(y[4000:], card.predict_pd(X.iloc[4000:])) > 0.75


def test_reason_codes_are_points_lost_against_best_bin(card, book):
    X, _ = book
    Xt = X.iloc[4000:4300]
    rc = card.reason_codes(Xt, top_k=2)
    assert list(rc.columns) == ["reason_1", "points_lost_1", "reason_2", "points_lost_2"]
    pts = card.points(Xt)
    row = rc.index[0]
    name, lost = rc.loc[row, "reason_1"], rc.loc[row, "points_lost_1"]
    assert lost == pytest.approx(card.best_points_[name] - pts.loc[row, name])
    both = rc.dropna()
    assert (both["points_lost_1"] >= both["points_lost_2"]).all() and (both["points_lost_2"] > 0).all()
    # a firm in every feature's best bin has nothing to explain
    best = card.points_table_.loc[card.points_table_.groupby("feature")["points"].idxmax()]
    assert set(best["feature"]) == set(card.features_)


def test_errors_and_pickle(card, book):
    X, y = book
    with pytest.raises(ModelError, match="only one class"):
        Scorecard().fit(X.iloc[:100], np.zeros(100, dtype=int))
    few = np.zeros(1000, dtype=int)
    few[:5] = 1
    with pytest.raises(ModelError, match="5 default"):
        Scorecard().fit(X.iloc[:1000], few)
    with pytest.raises(ModelError, match=r"missing \['noise'\]"):
        card.predict_pd(X.iloc[:5].drop(columns="noise"))
    with pytest.raises(ModelError, match=r"\+1, -1 or 0"):
        Scorecard(monotone_constraints={"leverage": 3}).fit(X.iloc[:4000], y[:4000])
    again = pickle.loads(pickle.dumps(card))
    assert np.array_equal(again.predict_pd(X.iloc[4000:4100]), card.predict_pd(X.iloc[4000:4100]))
