"""TreeSHAP from per-leaf tables (models/tree_shap.py) against LightGBM's own pred_contrib and
against Shapley values by brute force over coalitions."""

from __future__ import annotations

import itertools
import pickle
from math import factorial

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.pd_model import SMALL_BATCH, PDModel, PDModelConfig
from models.tree_shap import TreeShapTables, UnsupportedBooster, shapley_table


def _rows(n: int = 4000, p: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[rng.random((n, p)) < 0.1] = np.nan
    X[:, 3] = np.round(X[:, 3])  # many exact zeros and ties
    X[:, 4] = np.where(rng.random(n) < 0.3, 0.0, X[:, 4])
    z = np.nan_to_num(X)
    y = (z[:, 0] + z[:, 1] * z[:, 2] - z[:, 4] + rng.normal(size=n) > 0.3).astype(int)
    return X, y


@pytest.mark.parametrize("params", [
    {"num_leaves": 15, "extra_trees": True, "min_child_samples": 10},  # the PD model's shape
    {"num_leaves": 31, "zero_as_missing": True},  # "Zero" missing type
    {"num_leaves": 15, "use_missing": False},  # "None": NaN counts as 0
    {"num_leaves": 8, "max_depth": 3, "objective": "regression"},  # shallow, another objective
])
def test_equals_lightgbm_pred_contrib(params):
    X, y = _rows()
    b = lgb.train({"objective": "binary", "verbose": -1, "deterministic": True, **params}, lgb.Dataset(X, y), 60)
    X = np.vstack([X, _on_thresholds(b, X[:300])])
    ref = b.predict(X, pred_contrib=True)
    got = TreeShapTables.from_booster(b).contributions(X)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), b.predict(X, raw_score=True), rtol=0, atol=1e-12)


def _on_thresholds(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    """Copies of rows ``X`` with every feature set to one of the model's own split thresholds
    (ties decide which side: LightGBM goes left on x <= threshold)."""
    thresholds: dict[int, list[float]] = {}

    def walk(node):
        if "split_feature" in node:
            thresholds.setdefault(node["split_feature"], []).append(node["threshold"])
            walk(node["left_child"])
            walk(node["right_child"])

    for t in booster.dump_model()["tree_info"]:
        walk(t["tree_structure"])
    rng = np.random.default_rng(1)
    out = X.copy()
    for f, ts in thresholds.items():
        out[:, f] = rng.choice(ts, size=len(out))
    return out


def test_a_tree_without_splits_is_bias_only():
    X, y = _rows(400)
    b = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 400}, lgb.Dataset(X, y), 5)
    got = TreeShapTables.from_booster(b).contributions(X)
    np.testing.assert_allclose(got, b.predict(X, pred_contrib=True), rtol=0, atol=1e-12)
    assert np.all(got[:, :-1] == 0.0)


def _brute_force(R: np.ndarray, sat: np.ndarray, v: float) -> np.ndarray:
    """Shapley values of g(S) = v Π_{S} A Π_{not S} R by enumerating every coalition."""
    d = len(R)

    def g(S: set[int]) -> float:
        return v * np.prod([float(sat[u]) if u in S else R[u] for u in range(d)])

    phi = np.zeros(d)
    for i in range(d):
        rest = [u for u in range(d) if u != i]
        for s in range(d):
            for S in itertools.combinations(rest, s):
                w = factorial(s) * factorial(d - s - 1) / factorial(d)
                phi[i] += w * (g(set(S) | {i}) - g(set(S)))
    return phi


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_leaf_table_is_the_shapley_value_of_every_pattern(d):
    rng = np.random.default_rng(d)
    R, v = rng.uniform(0.05, 1.0, d), float(rng.normal())
    table = shapley_table(R, v)
    assert table.shape == (1 << d, d)
    for mask in range(1 << d):
        sat = [(mask >> u) & 1 for u in range(d)]
        np.testing.assert_allclose(table[mask], _brute_force(R, np.array(sat), v), rtol=0, atol=1e-13)


def test_categorical_splits_are_left_to_lightgbm():
    X, y = _rows(2000)
    X[:, 5] = np.abs(np.nan_to_num(np.round(X[:, 5] * 3)))
    b = lgb.train({"objective": "binary", "verbose": -1, "min_data_per_group": 5, "cat_smooth": 1},
                  lgb.Dataset(X, y, categorical_feature=[5]), 30)
    with pytest.raises(UnsupportedBooster, match="categorical"):
        TreeShapTables.from_booster(b)


def test_wrong_row_shape_is_named():
    X, y = _rows(500)
    b = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 3)
    with pytest.raises(Exception, match=r"rows must be \(n, 8\)"):
        TreeShapTables.from_booster(b).contributions(X[:, :5])


def test_pd_model_uses_the_tables_on_large_batches_with_lightgbms_values():
    X, y = _rows(SMALL_BATCH + 500, p=6)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    model = PDModel(PDModelConfig(max_rounds=80, n_members=2, refit_members=2), {"x4": -1}).fit(frame, y)
    big = model.contributions(frame)
    assert model.__dict__.get("_tree_shap_tables_"), "the large batch did not use the tables"
    Z = frame.to_numpy(float)
    raw = sum(b.predict(Z, pred_contrib=True) for b in model.boosters_) / len(model.boosters_)
    ref = model.calibrator_.slope_ * raw
    np.testing.assert_allclose(big.to_numpy()[:, :-1], ref[:, :-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(big.to_numpy().sum(axis=1), model.log_odds(frame), rtol=0, atol=1e-12)
    small = model.contributions(frame.iloc[:100])  # LightGBM's own below SMALL_BATCH rows
    np.testing.assert_allclose(small.to_numpy(), big.to_numpy()[:100], rtol=0, atol=1e-12)
    again = pickle.loads(pickle.dumps(model))
    assert "_tree_shap_tables_" not in again.__dict__  # derived data is rebuilt, never stored
    np.testing.assert_array_equal(again.contributions(frame).to_numpy(), big.to_numpy())
