"""Platt scaling on the margin: recovers a known affine map, matches the observed rate, refuses thin data."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from data_contracts.errors import ModelError
from models.calibration import AffineCalibrator


@pytest.fixture(scope="module")
def margins():
    rng = np.random.default_rng(5)
    m = rng.normal(size=20000)
    y = (rng.random(m.size) < expit(2.0 * m - 3.0)).astype(int)
    return m, y


def test_recovers_slope_and_intercept(margins):
    m, y = margins
    cal = AffineCalibrator().fit(m, y)
    assert cal.slope_ == pytest.approx(2.0, abs=0.1)
    assert cal.intercept_ == pytest.approx(-3.0, abs=0.1)
    ref = LogisticRegression(C=1e12, max_iter=1000).fit(m[:, None], y)
    assert cal.slope_ == pytest.approx(ref.coef_[0, 0], rel=1e-4)
    assert cal.intercept_ == pytest.approx(ref.intercept_[0], rel=1e-4)


def test_mean_pd_matches_observed_rate(margins):
    m, y = margins
    cal = AffineCalibrator().fit(m, y)
    assert cal.predict_pd(m).mean() == pytest.approx(y.mean(), abs=1e-6)
    assert np.allclose(logit(cal.predict_pd(m)), cal.log_odds(m))


def test_refuses_few_defaults_and_bad_input():
    m = np.linspace(-2, 2, 500)
    y = np.zeros(500, dtype=int)
    y[-5:] = 1
    with pytest.raises(ModelError, match="5 default"):
        AffineCalibrator(min_defaults=20).fit(m, y)
    with pytest.raises(ModelError, match="margins"):
        AffineCalibrator().fit(m[:10], y)
    with pytest.raises(ModelError, match="finite"):
        AffineCalibrator(min_defaults=1).fit(np.r_[np.nan, m[1:]], y)


def test_pickle_round_trip(margins):
    m, y = margins
    cal = AffineCalibrator().fit(m, y)
    again = pickle.loads(pickle.dumps(cal))
    assert np.array_equal(again.predict_pd(m[:50]), cal.predict_pd(m[:50]))


def test_overconfident_margins_converge_to_the_maximum_likelihood_fit():
    """Margins 50x too steep (as averaged boosters can give) must not make Newton diverge."""
    rng = np.random.default_rng(8)
    m = 50 * rng.normal(size=3000)
    y = (rng.random(m.size) < expit(m / 50 - 2)).astype(int)
    cal = AffineCalibrator().fit(m, y)
    ref = LogisticRegression(C=1e12, max_iter=5000).fit(m[:, None], y)
    assert cal.slope_ == pytest.approx(ref.coef_[0, 0], rel=1e-3)
    assert cal.intercept_ == pytest.approx(ref.intercept_[0], rel=1e-3)
