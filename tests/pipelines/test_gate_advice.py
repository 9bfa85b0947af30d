"""When no PD candidate passes the gate, training says so plainly and what to do."""

from __future__ import annotations

from pipelines.promotion import GateConfig, decide
from pipelines.training.gate import no_champion_advice


def test_calibration_in_the_large_failure_offers_recalibration():
    bad = decide("iprisk-pd", "3", {"auc": 0.81, "jeffreys_pass_share": 1.0, "mean_pd_in_interval": 0.0}, None, None, GateConfig())
    lines = no_champion_advice([bad])
    assert len(lines) == 1 and "iprisk-pd has no champion: v3" in lines[0]
    assert "recalibrate the intercept on the latest labelled year" in lines[0] and "iprisk promote iprisk-pd 3" in lines[0]


def test_other_failures_ask_for_data_and_a_promoted_model_needs_no_advice():
    weak = decide("iprisk-pd", "1", {"auc": 0.7, "jeffreys_pass_share": 0.5, "mean_pd_in_interval": 1.0}, None, None, GateConfig())
    assert "more data" in no_champion_advice([weak.__dict__])[0]
    ok = decide("iprisk-pd", "2", {"auc": 0.8, "jeffreys_pass_share": 1.0, "mean_pd_in_interval": 1.0}, None, None, GateConfig())
    kept = decide("iprisk-pd", "4", {"auc": 0.7, "jeffreys_pass_share": 0.5, "mean_pd_in_interval": 1.0}, {"auc": 0.8}, "2", GateConfig())
    assert no_champion_advice([ok, kept]) == []
