"""The PD role: LightGBM and the scorecard held to the same checks on the same test rows, the winner
serving decisions through the facade, and recalibration in the large."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import expit, logit

from models import metrics as M
from models.calibration import intercept_shift
from pipelines.promotion import GateConfig
from pipelines.training.gate import _verdict, choose_pd_family, role_metrics


def _m(pre: str, auc: float, in_interval: float, share: float = 1.0) -> dict[str, float]:
    return {f"{pre}auc": auc, f"{pre}mean_pd_in_interval": in_interval, f"{pre}jeffreys_pass_share": share}


def test_the_gate_holds_both_families_to_the_same_checks():
    gate = GateConfig()
    # LightGBM misses calibration in the large, the scorecard passes: the scorecard takes the role
    metrics = _m("pd.", 0.86, 0.0) | _m("scorecard.", 0.84, 1.0)
    family, why = choose_pd_family(metrics, gate)
    assert family == "scorecard" and why["scorecard"] == "passes" and "mean predicted PD" in why["lightgbm"]
    # both pass: the higher AUC wins, whichever family it is
    assert choose_pd_family(_m("pd.", 0.86, 1.0) | _m("scorecard.", 0.84, 1.0), gate)[0] == "lightgbm"
    assert choose_pd_family(_m("pd.", 0.81, 1.0) | _m("scorecard.", 0.84, 1.0), gate)[0] == "scorecard"
    # a scorecard failing the Jeffreys test is rejected exactly as a LightGBM PD would be (no free pass)
    for kind, pre in (("pd", "pd."), ("scorecard", "scorecard.")):
        d = _verdict(kind, "m", "1", _m(pre, 0.9, 1.0, share=0.5), None, None, gate)
        assert d.decision == "rejected" and "Jeffreys" in d.reason and not d.calibration_passed
    # the PD role is gated on the chosen family's figures
    metrics = _m("pd.", 0.81, 0.0) | _m("scorecard.", 0.84, 1.0)
    metrics |= role_metrics(metrics, choose_pd_family(metrics, gate)[0])
    d = _verdict("pd", "iprisk-pd", "1", metrics, None, None, gate)
    assert d.decision == "promoted" and d.challenger_metric == pytest.approx(0.84)


def test_intercept_shift_matches_the_default_rate_and_keeps_the_ranks():
    rng = np.random.default_rng(0)
    z = rng.normal(-3.0, 1.0, 4000)
    y = (rng.random(4000) < expit(z - 0.5)).astype(int)  # the model's PDs are too high
    d = intercept_shift(z, y)
    assert d < 0 and expit(z + d).mean() == pytest.approx(y.mean(), abs=1e-9)
    assert M.auc(y, expit(z + d)) == pytest.approx(M.auc(y, expit(z)))


@pytest.mark.slow
@pytest.mark.xdist_group("registry")
def test_a_scorecard_champion_serves_with_points_reasons(trained):
    from pipelines.readers import read_book
    from pipelines.registry import load_bundle

    bundle = load_bundle(versions=trained["result"]["registered_versions"])  # pinned: whether or not they became champions
    sc = bundle.scorecard
    sb = dataclasses.replace(bundle, pd_model=sc, pd_family="scorecard")  # the role held by the scorecard
    book = read_book(trained["book"])
    ids = book["loans"]["loan_id"].sample(8, random_state=5)
    loans = book["loans"][book["loans"]["loan_id"].isin(ids)]
    pledges = book["pledges"][book["pledges"]["loan_id"].isin(ids)]
    t = {"firms": book["firms"][book["firms"]["firm_id"].isin(loans["firm_id"])].copy(),
         "patents": book["patents"][book["patents"]["patent_id"].isin(pledges["patent_id"])].copy(),
         "loans": loans.copy(), "pledges": pledges.copy()}
    out = sb.score(t, counterfactual=False)
    X = sb.features(t)[list(sc.feature_names_)]
    p = sc.predict_pd(X)
    got = {d["loan_id"]: d for d in out}
    for lid, pi in zip(X.index, p):
        d = got[lid]
        assert d["probability_of_default"] == pytest.approx(pi, rel=1e-9)
        assert d["scorecard"]["probability_of_default"] == pytest.approx(pi, rel=1e-9)
        for r in d["reasons"]:  # points-based: a reason costs points against a neutral bin
            assert r["feature"] in sc.features_ and r["points_lost"] == pytest.approx(sc.factor_ * r["log_odds"]) and r["points_lost"] > 0
    assert any(d["reasons"] for d in out)
    contrib = sc.contributions(X)  # additive: the reasons' log-odds sum to the scorecard's log-odds
    assert contrib.to_numpy().sum(axis=1) == pytest.approx(logit(p), abs=1e-9)
    # directional: where the scorecard enforces "riskier with leverage", more leverage never lowers its PD
    assert sc.trends_["liabilities_to_assets"] == "ascending"
    base = sb.score_frame(t, reasons=False)[0]["probability_of_default"].to_numpy()
    t["firms"]["liabilities_to_assets"] = t["firms"]["liabilities_to_assets"] + 0.5
    worse = sb.score_frame(t, reasons=False)[0]["probability_of_default"].to_numpy()
    assert (worse >= base - 1e-12).all()
    # recalibration moves the level and nothing else
    shifted = sc.with_intercept_shift(-0.4)
    assert shifted.log_odds(X) == pytest.approx(sc.log_odds(X) - 0.4)
    assert (shifted.points(X)["total"] > sc.points(X)["total"]).all()


def test_role_recorded_by_training(trained):
    r = trained["result"]
    assert r["pd_family"] in ("lightgbm", "scorecard") and set(r["pd_candidates"]) == {"lightgbm", "scorecard"}
    m = r["metrics"]
    pre = "pd." if r["pd_family"] == "lightgbm" else "scorecard."
    assert m["pd_role.auc"] == m[pre + "auc"]
