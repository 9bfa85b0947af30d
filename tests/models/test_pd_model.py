"""PDModel behaviour: monotone directions, additive contributions, calibration, errors, pickling,
and one cross-validated fit on the real Polish bankruptcy file."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from data_contracts.errors import ModelError
from models.metrics import auc, cross_validated_auc
from models.pd_model import PDModel, PDModelConfig

POLISH = Path(__file__).resolve().parents[3] / "shared" / "data" / "polish_bankruptcy" / "1year.arff"
DIRECTIONS = {"leverage": 1, "profitability": -1}
FAST = PDModelConfig(learning_rate=0.1, max_rounds=300, early_stopping_rounds=30, n_members=3, synthetic_top_k=4)


def make_book(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Firms with a riskier, a safer, two interacting and one noise feature; NaN in two columns."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "leverage": rng.normal(size=n),
            "profitability": rng.normal(size=n),
            "cash_ratio": rng.lognormal(size=n),
            "debt_ratio": rng.lognormal(size=n),
            "noise": rng.normal(size=n),
        }
    )
    z = -3.2 + 1.0 * X["leverage"] - 0.9 * X["profitability"] - 0.8 * np.log(X["cash_ratio"] / X["debt_ratio"])
    y = (rng.random(n) < expit(z)).astype(int)
    X.loc[rng.random(n) < 0.05, "cash_ratio"] = np.nan
    X.loc[rng.random(n) < 0.05, "leverage"] = np.nan
    return X, y.to_numpy()


@pytest.fixture(scope="module")
def book():
    return make_book(6000, 1)


@pytest.fixture(scope="module")
def fitted(book):
    X, y = book
    return PDModel(FAST, monotone_constraints=DIRECTIONS).fit(X.iloc[:4000], y[:4000])


def test_outputs_shapes_and_probabilities(fitted, book):
    X, _ = book
    Xt = X.iloc[4000:]
    proba = fitted.predict_proba(Xt)
    assert proba.shape == (len(Xt), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(proba[:, 1], fitted.predict_pd(Xt))
    assert fitted.feature_names_ == list(X.columns)
    assert fitted.n_features_in_ == 5 and len(fitted.boosters_) == 1  # one booster refitted on all rows
    assert np.isfinite(fitted.predict_pd(Xt)).all()


def test_discriminates_on_held_out_rows(fitted, book):
    X, y = book
    assert auc(y[4000:], fitted.predict_pd(X.iloc[4000:])) > 0.75


def test_contributions_sum_to_calibrated_log_odds(fitted, book):
    X, _ = book
    Xt = X.iloc[4000:4500]
    c = fitted.contributions(Xt)
    assert list(c.columns) == list(X.columns) + ["bias"]
    assert c.index.equals(Xt.index)
    assert np.allclose(c.to_numpy().sum(axis=1), logit(fitted.predict_pd(Xt)), atol=1e-9, rtol=0)
    assert np.allclose(c.to_numpy().sum(axis=1), fitted.log_odds(Xt), atol=1e-9, rtol=0)


def test_synthetic_features_leave_constrained_features_alone(fitted):
    assert fitted.synthetic_features_, "the fast config asks for synthetic features"
    parents = {p for _, a, b, _ in fitted.synthetic_features_ for p in (a, b)}
    assert not parents & set(DIRECTIONS)
    assert fitted.monotone_constraints_ == DIRECTIONS


@pytest.mark.parametrize("feature, sign", sorted(DIRECTIONS.items()))
def test_riskier_input_never_lowers_pd(fitted, book, feature, sign):
    """Sweep a constrained feature over its range for 200 firms: PD moves only with its risk direction."""
    X, _ = book
    base = X.iloc[4000:4200].fillna(0.0)
    grid = np.linspace(X[feature].quantile(0.01), X[feature].quantile(0.99), 25)[::sign]  # riskier along the grid
    pds = []
    for v in grid:
        Z = base.copy()
        Z[feature] = v
        pds.append(fitted.predict_pd(Z))
    steps = np.diff(np.array(pds), axis=0)
    assert (steps >= -1e-12).all()
    assert (steps > 1e-6).any(), "the feature should matter somewhere"


def test_calibrated_on_held_out_rows(book):
    X, y = make_book(12000, 2)
    m = PDModel(FAST).fit(X.iloc[:8000], y[:8000])
    p, obs = m.predict_pd(X.iloc[8000:]), y[8000:]
    se = np.sqrt(obs.mean() * (1 - obs.mean()) / obs.size)
    assert abs(p.mean() - obs.mean()) < 3 * se + 0.003


def test_explicit_validation_set_and_single_member(book):
    X, y = book
    m = PDModel(replace(FAST, refit_members=2)).fit(X.iloc[:3000], y[:3000], X.iloc[3000:4500], y[3000:4500])
    assert len(m.boosters_) == 2 and m.calibrator_.n_ == 1500
    one = PDModel(PDModelConfig(learning_rate=0.1, max_rounds=200, n_members=1, synthetic_top_k=0)).fit(X.iloc[:4000], y[:4000])
    assert len(one.boosters_) == 1 and one.calibrator_.n_ == 800
    assert auc(y[4500:], m.predict_pd(X.iloc[4500:])) > 0.75
    assert auc(y[4500:], one.predict_pd(X.iloc[4500:])) > 0.75


def test_pickle_round_trip(fitted, book):
    X, _ = book
    again = pickle.loads(pickle.dumps(fitted))
    Xt = X.iloc[4000:4300]
    assert np.array_equal(again.predict_pd(Xt), fitted.predict_pd(Xt))
    assert np.array_equal(again.contributions(Xt).to_numpy(), fitted.contributions(Xt).to_numpy())


def test_predict_reorders_columns_and_names_mismatches(fitted, book):
    X, _ = book
    Xt = X.iloc[4000:4050]
    assert np.array_equal(fitted.predict_pd(Xt[Xt.columns[::-1]]), fitted.predict_pd(Xt))
    with pytest.raises(ModelError, match=r"missing \['noise'\], unexpected \['colour'\]"):
        fitted.predict_pd(Xt.drop(columns="noise").assign(colour=1.0))
    with pytest.raises(ModelError, match="numeric"):
        fitted.predict_pd(Xt.assign(noise="x"))
    with pytest.raises(ModelError, match="not fitted"):
        PDModel().predict_pd(Xt)


def test_refuses_one_class_and_too_few_defaults(book):
    X, y = book
    with pytest.raises(ModelError, match="only one class"):
        PDModel(FAST).fit(X.iloc[:500], np.zeros(500, dtype=int))
    few = np.zeros(1000, dtype=int)
    few[:7] = 1
    with pytest.raises(ModelError, match="7 default"):
        PDModel(FAST).fit(X.iloc[:1000], few)
    with pytest.raises(ModelError, match="0/1"):
        PDModel(FAST).fit(X.iloc[:10], np.arange(10))
    with pytest.raises(ModelError, match="both X_valid and y_valid"):
        PDModel(FAST).fit(X.iloc[:4000], y[:4000], X_valid=X.iloc[4000:])
    with pytest.raises(ModelError, match=r"\+1, -1 or 0"):
        PDModel(FAST, monotone_constraints={"leverage": 2}).fit(X.iloc[:4000], y[:4000])


def test_random_state_overrides_seed_and_sklearn_params(book):
    m = PDModel(FAST, monotone_constraints=DIRECTIONS, random_state=9)
    assert m.config_dict()["seed"] == 9
    assert set(m.get_params()) == {"config", "monotone_constraints", "random_state", "direction_policy"}


def _read_polish() -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    from scipy.io import arff

    from data_contracts import load_contract

    contract = load_contract("polish_bankruptcy")
    frame = pd.DataFrame(arff.loadarff(str(POLISH))[0])
    frame = frame.rename(columns={c.source_name or c.name: c.name for c in contract.columns})
    y = frame.pop(contract.target).map(lambda v: int(v.decode())).to_numpy()
    return frame.astype("float64"), y, contract.risk_directions()


@pytest.mark.slow
@pytest.mark.skipif(not POLISH.is_file(), reason="Polish bankruptcy file not present")
def test_polish_bankruptcy_cross_validated_auc():
    X, y, directions = _read_polish()
    cfg = PDModelConfig(learning_rate=0.1, max_rounds=300, early_stopping_rounds=40, n_members=3, synthetic_top_k=8)
    mean, _, folds = cross_validated_auc(lambda: PDModel(cfg, monotone_constraints=directions), X, y, k=3, seed=0)
    assert len(folds) == 3
    assert mean > 0.9


def test_synthetic_features_respect_the_size_budget(book):
    X, y = book
    small = PDModelConfig(learning_rate=0.1, max_rounds=100, n_members=2, synthetic_top_k=3, synthetic_max_cells=4000 * 6)
    m = PDModel(small).fit(X.iloc[:4000], y[:4000])
    assert m.synthetic_features_ == []  # room for 1 column, a pair needs 3
    roomy = PDModel(replace(small, synthetic_max_cells=4000 * 8)).fit(X.iloc[:4000], y[:4000])
    assert len(roomy.synthetic_features_) == 3


def test_cross_fitted_members_kept_when_not_refitted(book):
    """refit_members=0 predicts with the n_members cross-fitted boosters, all trimmed to one round count."""
    X, y = book
    m = PDModel(replace(FAST, refit_members=0), monotone_constraints=DIRECTIONS).fit(X.iloc[:4000], y[:4000])
    assert len(m.boosters_) == 3 and len(set(m.best_iterations_)) == 1
    assert all(b.num_trees() == m.best_iteration_ for b in m.boosters_)
    assert auc(y[4000:], m.predict_pd(X.iloc[4000:])) > 0.75


def test_validation_rows_need_ten_defaults(book):
    """A small book's validation year with 10 defaults is enough (min_valid_defaults); 9 is refused."""
    X, y = book
    Xv, yv = X.iloc[4000:], y[4000:]
    pos, neg = np.flatnonzero(yv == 1), np.flatnonzero(yv == 0)
    ten = np.r_[pos[:10], neg[:1000]]
    m = PDModel(FAST).fit(X.iloc[:4000], y[:4000], Xv.iloc[ten], yv[ten])
    assert m.calibrator_.n_defaults_ == 10
    nine = np.r_[pos[:9], neg[:1000]]
    with pytest.raises(ModelError, match=r"validation rows \(X_valid\) hold 9 default.*min_valid_defaults"):
        PDModel(FAST).fit(X.iloc[:4000], y[:4000], Xv.iloc[nine], yv[nine])


def test_single_row_and_batch_predictions_agree(fitted, book):
    """One-row calls (single-threaded path) give the same PDs and reasons as a large batch."""
    X, _ = book
    Xt = pd.concat([X.iloc[4000:]] * 2)  # 4000 rows: above the small-batch threshold
    batch, contrib = fitted.predict_pd(Xt), fitted.contributions(Xt.iloc[:3000])
    for i in (0, 17, 1999):
        assert fitted.predict_pd(Xt.iloc[[i]])[0] == pytest.approx(batch[i], abs=1e-12)
        assert np.allclose(fitted.contributions(Xt.iloc[[i]]).to_numpy(), contrib.iloc[[i]].to_numpy(), atol=1e-12)
