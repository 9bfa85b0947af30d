"""Validation metrics against known values and scipy/sklearn references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from data_contracts.errors import ModelError
from models import metrics as M


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.normal(size=n)
    pd_true = 1 / (1 + np.exp(-(-3.0 + 1.2 * x)))
    y = (rng.random(n) < pd_true).astype(int)
    return x, pd_true, y


def test_auc_of_perfect_reversed_and_tied_scores():
    y = np.array([0, 0, 1, 1])
    assert M.auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert M.auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert M.auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert M.gini(y, [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_auc_matches_sklearn(scored):
    x, _, y = scored
    assert M.auc(y, x) == pytest.approx(roc_auc_score(y, x), abs=1e-12)
    assert M.gini(y, x) == pytest.approx(2 * roc_auc_score(y, x) - 1, abs=1e-12)


def test_auc_needs_both_classes():
    with pytest.raises(ModelError, match="both defaults and non-defaults"):
        M.auc([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ModelError, match="0 or 1"):
        M.auc([0, 2, 1], [0.1, 0.2, 0.3])


def test_ks_perfect_separation_and_reference(scored):
    assert M.ks([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    x, _, y = scored
    ref = stats.ks_2samp(x[y == 1], x[y == 0]).statistic
    assert M.ks(y, x) == pytest.approx(ref)
    assert 0 < M.ks(y, x) < 1


def test_brier_known_value():
    assert M.brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    with pytest.raises(ModelError, match=r"\[0, 1\]"):
        M.brier([0, 1], [0.2, 1.5])


def test_jeffreys_matches_beta_cdf_and_flags_low_pd():
    grades = np.array(["A"] * 100 + ["B"] * 200)
    pd_rows = np.r_[np.full(100, 0.01), np.full(200, 0.05)]
    defaults = np.zeros(300, dtype=int)
    defaults[:8] = 1  # grade A: 8 of 100 defaulted against a 1 % PD -> PD too low
    defaults[100:110] = 1  # grade B: 10 of 200 against 5 % -> fine
    out = M.jeffreys_test(pd_rows, defaults, grades)
    assert list(out.index) == ["A", "B"]
    assert out.loc["A", "p_value"] == pytest.approx(stats.beta.cdf(0.01, 8.5, 92.5))
    assert out.loc["B", "p_value"] == pytest.approx(stats.beta.cdf(0.05, 10.5, 190.5))
    assert bool(out.loc["A", "pd_too_low"]) and not bool(out.loc["B", "pd_too_low"])
    assert out.loc["A", "observed_dr"] == pytest.approx(0.08)
    assert out.loc["B", "n"] == 200 and out.loc["B", "defaults"] == 10
    p = out["p_value"].to_numpy()
    assert np.allclose(out["p_value_two_sided"], np.minimum(1, 2 * np.minimum(p, 1 - p)))


def test_binomial_matches_scipy():
    grades = np.array([1] * 50)
    pd_rows = np.full(50, 0.02)
    defaults = np.r_[np.ones(4), np.zeros(46)].astype(int)
    out = M.binomial_test(pd_rows, defaults, grades)
    assert out.loc[1, "p_value"] == pytest.approx(stats.binomtest(4, 50, 0.02, alternative="greater").pvalue)
    assert bool(out.loc[1, "pd_too_low"])


def test_hosmer_lemeshow_accepts_true_pd_and_rejects_scaled_pd(scored):
    _, pd_true, y = scored
    stat, p = M.hosmer_lemeshow(pd_true, y, groups=10)
    assert p > 0.01 and stat >= 0
    _, p_bad = M.hosmer_lemeshow(np.clip(pd_true * 3, 0, 1), y, groups=10)
    assert p_bad < 1e-6


def test_psi_zero_for_identical_and_large_for_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=5000)
    assert M.psi(a, a) == pytest.approx(0.0, abs=1e-12)
    assert M.psi_band(M.psi(a, rng.normal(size=5000))) == "stable"
    shifted = M.psi(a, rng.normal(loc=1.0, size=5000))
    assert shifted > 0.25 and M.psi_band(shifted) == "shift"
    assert M.psi_band(0.1) == "watch" and M.psi_band(0.0999) == "stable"


def test_psi_counts_missing_values_as_their_own_bucket():
    a = np.arange(1000, dtype=float)
    b = a.copy()
    b[:300] = np.nan
    assert M.psi(a, b) > 0.25


def test_herfindahl():
    assert M.herfindahl([10, 10, 10, 10]) == pytest.approx(0.25)
    assert M.herfindahl({"A": 5}) == 1.0
    assert M.herfindahl(pd.Series([1, 3])) == pytest.approx(0.0625 + 0.5625)
    with pytest.raises(ModelError):
        M.herfindahl([0, 0])


def test_default_rate_interval_references():
    y = np.r_[np.ones(7), np.zeros(193)].astype(int)
    rate, lo, hi = M.default_rate_interval(y, method="clopper-pearson")
    ci = stats.binomtest(7, 200).proportion_ci(confidence_level=0.95, method="exact")
    assert rate == pytest.approx(0.035)
    assert (lo, hi) == pytest.approx((ci.low, ci.high))
    rate, lo, hi = M.default_rate_interval(y)
    assert lo == pytest.approx(stats.beta.ppf(0.025, 7.5, 193.5)) and hi == pytest.approx(stats.beta.ppf(0.975, 7.5, 193.5))
    assert M.default_rate_interval(np.zeros(50, dtype=int))[1] == 0.0
    with pytest.raises(ModelError, match="unknown method"):
        M.default_rate_interval(y, method="wald")


def test_calibration_curve_bins_cover_all_rows(scored):
    _, pd_true, y = scored
    cc = M.calibration_curve(pd_true, y, bins=10)
    assert cc["n"].sum() == len(y) and len(cc) == 10
    assert cc["mean_pd"].is_monotonic_increasing
    assert ((cc["dr_lower"] <= cc["observed_dr"]) & (cc["observed_dr"] <= cc["dr_upper"])).all()
    # well calibrated by construction: the top bin's interval holds its mean PD
    top = cc.iloc[-1]
    assert top["dr_lower"] <= top["mean_pd"] <= top["dr_upper"]


def test_cross_validated_auc(scored):
    x, _, y = scored
    X = pd.DataFrame({"x": x, "noise": np.random.default_rng(1).normal(size=len(x))})
    mean, std, folds = M.cross_validated_auc(lambda: LogisticRegression(), X, y, k=4, seed=0)
    assert len(folds) == 4 and std >= 0
    assert mean == pytest.approx(np.mean(folds))
    assert mean > 0.75
