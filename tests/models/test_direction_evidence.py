"""Risk directions against the data: rank evidence with permutation p-values, verdicts, what each
policy enforces, and the PD model and scorecard enforcing only what the policy chooses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from data_contracts.errors import ModelError
from models.direction_evidence import (
    DirectionPolicy,
    choose_directions,
    describe_contradictions,
    direction_evidence,
    rank_evidence,
)
from models.pd_model import PDModel, PDModelConfig

FAST = PDModelConfig(learning_rate=0.1, max_rounds=200, early_stopping_rounds=30, n_members=3)
QUICK = DirectionPolicy(n_permutations=1999)  # the smallest p-value, 1/2000, is below strong_alpha 0.001


@pytest.fixture(scope="module")
def firms() -> tuple[pd.DataFrame, np.ndarray]:
    """Leverage raises risk, profitability lowers it, noise does nothing; 5% of leverage missing."""
    rng = np.random.default_rng(3)
    n = 3000
    X = pd.DataFrame({"leverage": rng.normal(size=n), "profitability": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = (rng.random(n) < expit(-2.5 + 1.0 * X["leverage"] - 0.8 * X["profitability"])).astype(int).to_numpy()
    X.loc[rng.random(n) < 0.05, "leverage"] = np.nan
    return X, y


def test_verdicts_follow_the_data(firms):
    X, y = firms
    # the contract is right about leverage, wrong about profitability, and says something about noise
    ev = direction_evidence(X, y, {"leverage": 1, "profitability": 1, "noise": 1}, QUICK).set_index("feature")
    assert ev.loc["leverage", "verdict"] == "supported" and ev.loc["leverage", "data"] == 1
    assert ev.loc["profitability", "verdict"] == "rejected" and bool(ev.loc["profitability", "flag"])
    assert ev.loc["profitability", "data"] == -1 and ev.loc["profitability", "contract"] == 1  # reported, never flipped
    assert ev.loc["noise", "verdict"] in ("not_shown", "supported", "contradicted")  # chance may lean either way
    assert ev.loc["leverage", "n"] < len(X)  # missing values left out
    assert ev.loc["leverage", "rho"] > 0.1 and ev.loc["profitability", "rho"] < -0.1


@pytest.mark.parametrize("policy, enforced", [
    ("contract", {"leverage": 1, "profitability": 1}),
    ("supported", {"leverage": 1}),
    ("none", {}),
])
def test_each_policy_enforces_what_it_says(firms, policy, enforced):
    X, y = firms
    chosen, ev = choose_directions(X, y, {"leverage": 1, "profitability": 1}, replace(QUICK, policy=policy))
    assert chosen == enforced
    assert ev is not None and len(ev) == 2  # evidence is reported under every policy
    lines = describe_contradictions(ev, "firms")
    assert len(lines) == 1 and lines[0].startswith("firms.profitability: contract says 'riskier', the data say 'safer'")
    assert ("enforced anyway" in lines[0]) == (policy == "contract") and "fix the contract" in lines[0]


def test_evidence_is_invariant_to_monotone_transforms_and_seeded(firms):
    X, y = firms
    a = rank_evidence(X, y, 299, seed=1)
    b = rank_evidence(X.assign(leverage=np.exp(X["leverage"]), noise=3 * X["noise"] - 7), y, 299, seed=1)
    pd.testing.assert_frame_equal(a, b)
    flipped = rank_evidence(X.assign(leverage=-X["leverage"]), y, 299, seed=1).set_index("feature")
    assert flipped.loc["leverage", "rho"] == pytest.approx(-a.set_index("feature").loc["leverage", "rho"])
    assert flipped.loc["leverage", "p_down"] == a.set_index("feature").loc["leverage", "p_up"]


def test_no_policy_keeps_todays_behaviour_and_bad_settings_are_refused(firms):
    X, y = firms
    assert choose_directions(X, y, {"leverage": 1, "absent": -1}, None) == ({"leverage": 1, "absent": -1}, None)
    with pytest.raises(ModelError, match="policy"):
        DirectionPolicy(policy="flip")
    with pytest.raises(ModelError, match="strong_alpha"):
        DirectionPolicy(alpha=0.01, strong_alpha=0.05)
    with pytest.raises(ModelError, match="0/1"):
        rank_evidence(X, np.full(len(X), 2.0))


def test_pd_model_enforces_only_supported_directions_and_they_hold(firms):
    X, y = firms
    m = PDModel(FAST, monotone_constraints={"leverage": 1, "profitability": 1}, direction_policy=QUICK).fit(X, y)
    assert m.monotone_constraints_ == {"leverage": 1}
    assert set(m.direction_evidence_["feature"]) == {"leverage", "profitability"}
    # directional: a riskier leverage never lowers PD (the enforced direction), for every firm
    grid = np.linspace(-3, 3, 13)
    rows = X.sample(40, random_state=0).reset_index(drop=True)
    pds = np.column_stack([m.predict_pd(rows.assign(leverage=v)) for v in grid])
    assert (np.diff(pds, axis=1) >= -1e-12).all()
    # the unenforced, rejected direction is learnt as the data have it: more profit, lower PD on average
    hi, lo = m.predict_pd(rows.assign(profitability=2.0)), m.predict_pd(rows.assign(profitability=-2.0))
    assert hi.mean() < lo.mean()


@pytest.mark.slow
def test_scorecard_trends_follow_the_policy(firms):
    from models.scorecard import Scorecard

    X, y = firms
    X, y = X.iloc[:1500], y[:1500]
    sc = Scorecard(monotone_constraints={"leverage": 1, "profitability": 1}, direction_policy=QUICK).fit(X, y)
    assert sc.trends_["leverage"] == "ascending" and sc.trends_["profitability"] == "auto_asc_desc"
    assert sc.direction_evidence_ is not None and "profitability" in sc.features_
