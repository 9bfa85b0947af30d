"""The promotion gate's verdicts (pure): first model, better / not better challenger, calibration."""

from pipelines.promotion import GateConfig, calibration_ok, decide

CFG = GateConfig(min_auc_gain=0.002, min_jeffreys_pass_share=0.9)
GOOD = {"auc": 0.80, "jeffreys_pass_share": 1.0, "mean_pd_in_interval": 1.0}


def test_first_model_that_passes_becomes_champion():
    d = decide("iprisk-pd", "1", GOOD, None, None, CFG)
    assert d.decision == "promoted" and "first model" in d.reason


def test_first_model_failing_calibration_is_rejected():
    bad = GOOD | {"jeffreys_pass_share": 0.5}
    d = decide("iprisk-pd", "1", bad, None, None, CFG)
    assert d.decision == "rejected" and "Jeffreys" in d.reason


def test_mean_pd_outside_interval_fails_calibration():
    ok, why = calibration_ok(GOOD | {"mean_pd_in_interval": 0.0}, CFG)
    assert not ok and "interval" in why


def test_challenger_must_beat_champion_by_the_margin():
    champ = {"auc": 0.799}
    assert decide("m", "2", GOOD, champ, "1", CFG).decision == "rejected"  # +0.001 < 0.002
    assert decide("m", "2", GOOD | {"auc": 0.8011}, champ, "1", CFG).decision == "promoted"  # +0.0021


def test_worse_challenger_is_rejected_and_verdict_is_tagged():
    d = decide("m", "3", GOOD | {"auc": 0.70}, {"auc": 0.80}, "2", CFG)
    tags = d.as_tags()
    assert d.decision == "rejected"
    assert tags["gate.decision"] == "rejected" and tags["gate.champion_version"] == "2"
    assert float(tags["gate.challenger_metric"]) == 0.70


def test_lower_is_better_metric_for_recovery():
    kw = dict(metric="lgd_mae", higher_is_better=False, check_calibration=False)
    assert decide("r", "2", {"lgd_mae": 0.10}, {"lgd_mae": 0.12}, "1", CFG, **kw).decision == "promoted"
    assert decide("r", "2", {"lgd_mae": 0.1199}, {"lgd_mae": 0.12}, "1", CFG, **kw).decision == "rejected"
