"""Stability indices from counts, windows and the verdict rules (pure, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from data_contracts.errors import InputError
from models import metrics as M
from pipelines.monitoring.config import MonitoringConfig
from pipelines.monitoring.stability import bin_counts, quantile_edges, stability_index
from pipelines.monitoring.verdict import auc_standard_error, verdict_of, window_breaches
from pipelines.monitoring.windows import bound, check_window, window_of


def test_stability_index_from_counts_equals_psi_on_the_samples():
    rng = np.random.default_rng(0)
    ref, live = rng.lognormal(0, 1, 3000), rng.lognormal(0.3, 1.1, 2000)
    live[:50] = np.nan
    edges = quantile_edges(ref, 10)
    shares = bin_counts(ref, edges) / ref.size
    counts = sum(bin_counts(chunk, edges) for chunk in np.array_split(live, 7))  # counted chunk by chunk
    assert counts.sum() == live.size and counts[-1] == 50
    assert stability_index(shares, counts) == pytest.approx(M.psi(ref, live, bins=10), rel=1e-12)
    assert stability_index(shares, bin_counts(ref, edges)) == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(stability_index(shares, np.zeros_like(counts)))


def test_windows_and_bounds():
    assert window_of("2026-12-02", "month") == "2026-12"
    assert window_of("2026-12-02", "week") == "2026-W49" and window_of("2027-01-01", "week") == "2026-W53"
    assert bound("2026-12-01", "--since") == "2026-12-01"
    assert bound("2026-12-01T10:00:00+02:00", "--until") == "2026-12-01T08:00:00.000000"
    with pytest.raises(InputError, match="--since"):
        bound("yesterday", "--since")
    with pytest.raises(InputError, match="week"):
        check_window("day")


def _bt(loans=1000, defaults=50, auc=0.80, failures=(), mean_pd=0.05):
    return {"loans": loans, "defaults": defaults, "auc": auc, "jeffreys_failures": list(failures), "mean_pd": mean_pd,
            "default_rate": 0.05, "default_rate_lo95": 0.04, "default_rate_hi95": 0.06, "mean_pd_in_interval": 0.04 <= mean_pd <= 0.06}


def test_verdict_names_every_breach_with_its_level():
    cfg = MonitoringConfig()
    val = {"auc": 0.82, "rows": 600, "default_rate": 0.05}
    assert verdict_of(window_breaches(0.05, {"a": 0.02}, _bt(), val, cfg)) == "stable"
    b = window_breaches(0.12, {"a": 0.30, "b": 0.11, "c": 0.01}, None, val, cfg)
    assert [(x.rule, x.subject, x.level) for x in b] == [("psi", "score (PD)", "watch"), ("csi", "a", "act"), ("csi", "b", "watch")]
    assert verdict_of(b) == "act" and "csi of a = 0.3" in b[1].describe()
    # one Jeffreys failure among ten grades is chance: watch; more than monitoring.max_jeffreys_failures: act
    assert verdict_of(window_breaches(0.0, {}, _bt(failures=["7"]), val, cfg)) == "watch"
    assert verdict_of(window_breaches(0.0, {}, _bt(failures=["7", "8"]), val, cfg)) == "act"
    # a mean PD below the default rate's interval under-estimates risk: watch; above it is conservative
    assert [x.rule for x in window_breaches(0.0, {}, _bt(mean_pd=0.03), val, cfg)] == ["mean_pd_below_interval"]
    assert window_breaches(0.0, {}, _bt(mean_pd=0.08), val, cfg) == []
    # too few outcomes: the back-test is reported but not judged
    assert window_breaches(0.0, {}, _bt(loans=20, defaults=2, failures=["7", "8"]), val, cfg) == []


def test_an_auc_drop_counts_only_when_it_is_beyond_the_noise():
    cfg = MonitoringConfig()
    val = {"auc": 0.82, "rows": 600, "default_rate": 0.05}
    noisy = window_breaches(0.0, {}, _bt(loans=800, defaults=35, auc=0.76), val, cfg)  # 0.06 drop, ~0.07 noise
    assert not [x for x in noisy if x.rule == "auc_drop"]
    big = window_breaches(0.0, {}, _bt(loans=20000, defaults=1000, auc=0.70), {**val, "rows": 20000}, cfg)
    assert [(x.rule, x.level) for x in big] == [("auc_drop", "act")]
    assert auc_standard_error(0.8, 50, 950) == pytest.approx(0.0381, abs=1e-4)  # Hanley & McNeil, by hand
