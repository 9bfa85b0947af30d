"""The promotion gate: a challenger becomes champion only when it is better on the same
out-of-time data by a configurable margin and passes the calibration checks.

`decide` is a pure function of the two models' metrics on the *same* test rows; the registry code
(`pipelines.registry`) applies its verdict (aliases and tags on the model version).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


@dataclass(frozen=True)
class GateConfig:
    """Promotion thresholds.

    - ``min_auc_gain``: a PD or scorecard challenger must beat the champion's AUC on the same
      out-of-time rows by at least this much (absolute AUC points, 0.002 = 0.2 pp).
    - ``min_jeffreys_pass_share``: share of populated grades whose Jeffreys test passes (p ≥ 5%).
    - ``require_mean_pd_in_interval``: the mean predicted PD must lie in the 95% interval of the
      observed default rate on the test rows.
    - ``max_lgd_mae_ratio``: a recovery challenger's LGD mean absolute error must be at most this
      multiple of the champion's on the same defaulted test loans.
    """

    min_auc_gain: float = 0.002
    min_jeffreys_pass_share: float = 0.9
    require_mean_pd_in_interval: bool = True
    max_lgd_mae_ratio: float = 0.99


@dataclass(frozen=True)
class GateDecision:
    model: str
    version: str
    decision: Literal["promoted", "rejected"]
    reason: str
    champion_version: str | None
    challenger_metric: float | None
    champion_metric: float | None
    metric: str
    calibration_passed: bool

    def as_tags(self) -> dict[str, str]:
        return {f"gate.{k}": "" if v is None else str(v) for k, v in asdict(self).items() if k not in ("model", "version")}


def calibration_ok(metrics: dict[str, float], config: GateConfig) -> tuple[bool, str]:
    """Calibration checks on a PD model's test metrics (keys `jeffreys_pass_share`, `mean_pd_in_interval`)."""
    share = metrics.get("jeffreys_pass_share")
    if share is not None and share < config.min_jeffreys_pass_share:
        return False, f"Jeffreys test passes in {share:.0%} of grades (< {config.min_jeffreys_pass_share:.0%})"
    if config.require_mean_pd_in_interval and metrics.get("mean_pd_in_interval") is not None and not metrics["mean_pd_in_interval"]:
        return False, "mean predicted PD lies outside the 95% interval of the observed default rate"
    return True, "calibration checks pass"


def decide(
    model: str,
    version: str,
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    champion_version: str | None,
    config: GateConfig,
    *,
    metric: str = "auc",
    higher_is_better: bool = True,
    check_calibration: bool = True,
) -> GateDecision:
    """Verdict for one challenger. `challenger`/`champion` hold metrics on the same test rows."""
    ok, why = calibration_ok(challenger, config) if check_calibration else (True, "no calibration check for this model")
    c_val = challenger.get(metric)
    p_val = champion.get(metric) if champion else None

    def verdict(decision: str, reason: str) -> GateDecision:
        return GateDecision(model, version, decision, reason, champion_version, c_val, p_val, metric, ok)  # type: ignore[arg-type]

    if not ok:
        return verdict("rejected", why)
    if champion is None or p_val is None:
        return verdict("promoted", f"first model that passes the checks ({why})")
    if higher_is_better:
        if c_val >= p_val + config.min_auc_gain:
            return verdict("promoted", f"{metric} {c_val:.4f} beats champion v{champion_version} {p_val:.4f} by ≥ {config.min_auc_gain}")
        return verdict("rejected", f"{metric} {c_val:.4f} does not beat champion v{champion_version} {p_val:.4f} by {config.min_auc_gain}")
    if c_val <= p_val * config.max_lgd_mae_ratio:
        return verdict("promoted", f"{metric} {c_val:.4f} ≤ {config.max_lgd_mae_ratio} × champion v{champion_version} {p_val:.4f}")
    return verdict("rejected", f"{metric} {c_val:.4f} not below {config.max_lgd_mae_ratio} × champion v{champion_version} {p_val:.4f}")
