"""The value score against revealed value: calibrated weights keep the documented directions (a
contradicted sub-score gets weight 0), the calibrated score's range and gate, and the direction check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts import ModelError
from models.collateral import SCORED_COLUMNS, expert_subscore_weights, subscore_frame
from models.survival import harrell_c
from models.value_calibration import (
    CalibratedValueWeights,
    calibrated_value_scores,
    direction_check,
    fit_calibrated_weights,
)


def indicators(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    V = pd.DataFrame(dict.fromkeys(SCORED_COLUMNS, np.nan), index=range(n))
    V["is_valid"] = 1.0
    V["is_invention"] = 1.0
    V["is_utility_model"] = 0.0
    V["is_design"] = 0.0
    V["claims_count"] = rng.integers(1, 40, n).astype(float)
    V["scope"] = rng.integers(1, 5, n).astype(float)
    V["co_owners"] = rng.integers(0, 3, n).astype(float)
    return V


def lives(V: pd.DataFrame, seed: int):
    """More claims: longer life (documented); more IPC scope: SHORTER life (against the documented
    direction); co-owners: no effect."""
    rng = np.random.default_rng(seed)
    s = subscore_frame(V)
    rate = 0.2 * np.exp(-2.0 * s["legal.claims"].to_numpy() - 1.5 * s["technical.scope"].to_numpy() * -1.0)
    life = rng.exponential(1.0 / rate)
    follow = rng.uniform(1.0, 15.0, len(V))
    return np.minimum(life, follow), life <= follow


def test_weights_follow_the_data_within_documented_directions():
    V = indicators(3000, 1)
    t, e = lives(V, 2)
    w = fit_calibrated_weights(V, t, e, source="synthetic")
    assert sum(v for _, v in w.weights) == pytest.approx(1.0)
    assert set(w.fitted_subscores) == {"legal.claims", "legal.co_owners", "technical.scope"}
    assert w.weight("legal.claims") > 0.8  # the supported sub-score carries the score
    assert w.weight("technical.scope") == 0.0  # contradicted: weight 0, never negative
    assert w.weight("legal.litigation") == 0.0  # not in the data
    assert (w.n, w.events, w.source) == (3000, int(e.sum()), "synthetic")
    V2 = indicators(2000, 3)
    t2, e2 = lives(V2, 4)
    cal = calibrated_value_scores(V2, w)
    assert cal.between(0, 100).all()
    assert harrell_c(t2, e2, -cal.to_numpy()) > 0.6


def test_direction_check_names_supported_and_contradicted_subscores():
    V = indicators(3000, 1)
    t, e = lives(V, 2)
    w = fit_calibrated_weights(V, t, e)
    d = direction_check(V, t, e, fitted=w).set_index("subscore")
    assert d.loc["legal.claims", "verdict"] == "supports" and d.loc["legal.claims", "c_index"] > 0.55
    assert d.loc["technical.scope", "verdict"] == "contradicts" and d.loc["technical.scope", "coef"] < 0
    assert d.loc["legal.co_owners", "verdict"] in ("weak", "supports", "supports alone, contradicts jointly",
                                                   "contradicts alone, supports jointly")
    assert d.loc["economic.appraised_value", "verdict"] == "not in the data"
    assert d["expert_weight"].sum() == pytest.approx(1.0)
    assert d.loc["legal.claims", "expert_weight"] == pytest.approx(expert_subscore_weights()["legal.claims"])


def test_calibrated_score_gates_rights_not_in_force():
    V = indicators(4, 1)
    V["claims_count"] = 40.0
    V.loc[[2, 3], "is_valid"] = 0.0
    w = CalibratedValueWeights(weights=(("legal.claims", 1.0),))
    s = calibrated_value_scores(V, w)
    assert s.iloc[0] == pytest.approx(100 * 40 / 50) and (s.iloc[2:] <= 10.0).all()


def test_bad_weights_and_too_few_lapses_are_refused():
    with pytest.raises(ModelError, match="sum to 1"):
        CalibratedValueWeights(weights=(("legal.claims", 0.5),))
    with pytest.raises(ModelError, match=">= 0"):
        CalibratedValueWeights(weights=(("legal.claims", 1.5), ("technical.scope", -0.5)))
    V = indicators(50, 1)
    with pytest.raises(ModelError, match="need at least 5"):
        fit_calibrated_weights(V, np.ones(50), np.zeros(50, bool))
