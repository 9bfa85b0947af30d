"""The verdict of one window: stable / watch / act, from the thresholds of `MonitoringConfig`,
with every breach named (what, its value, the threshold it crossed, the level it calls for)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pipelines.monitoring.config import MonitoringConfig

Level = Literal["stable", "watch", "act"]
LEVELS: tuple[Level, ...] = ("stable", "watch", "act")
EXIT_CODES = {"stable": 0, "watch": 10, "act": 11}
"""Exit code of `iprisk monitor` per verdict (errors keep theirs: 1–5)."""


@dataclass(frozen=True)
class Breach:
    rule: str
    subject: str
    value: float
    threshold: float
    level: Level

    def describe(self) -> str:
        if self.rule == "jeffreys_failures":
            return f"{self.subject} ({self.value:g} grade(s), more than {self.threshold:g} → act): {self.level}"
        if self.rule in ("psi", "csi", "auc_drop"):
            return f"{self.rule} of {self.subject} = {self.value:.4g} (≥ {self.threshold:g}: {self.level})"
        return f"{self.rule}: {self.subject}: {self.level}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"message": self.describe()}


def auc_standard_error(auc: float, defaults: int, non_defaults: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC measured on `defaults` and `non_defaults` rows."""
    a, n1, n0 = float(auc), max(int(defaults), 1), max(int(non_defaults), 1)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return math.sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a), 0.0) / (n1 * n0))


Z_ONE_SIDED_95 = 1.6449
"""An AUC drop counts only when it is also significant: above this many standard errors of the
difference (validation and back-test AUC measured on independent rows)."""


def _band(value: float, watch: float, act: float) -> Level | None:
    return "act" if value >= act else "watch" if value >= watch else None


def window_breaches(psi_score: float, csi: dict[str, float], backtest: dict[str, Any] | None,
                    validation: dict[str, float], cfg: MonitoringConfig) -> list[Breach]:
    """Every threshold one window crosses, largest drift first within a rule. `validation`: the
    reference's `auc`, `rows` and `default_rate` (the AUC drop is judged against their noise too)."""
    validation_auc = validation.get("auc")
    out: list[Breach] = []
    lvl = _band(psi_score, cfg.psi_watch, cfg.psi_act) if psi_score == psi_score else None
    if lvl:
        out.append(Breach("psi", "score (PD)", psi_score, cfg.psi_act if lvl == "act" else cfg.psi_watch, lvl))
    for f, v in sorted(csi.items(), key=lambda kv: -kv[1]):
        lvl = _band(v, cfg.csi_watch, cfg.csi_act) if v == v else None
        if lvl:
            out.append(Breach("csi", f, v, cfg.csi_act if lvl == "act" else cfg.csi_watch, lvl))
    if backtest and backtest.get("loans", 0) >= cfg.min_backtest_loans and backtest.get("defaults", 0) >= cfg.min_backtest_defaults:
        fails = len(backtest.get("jeffreys_failures") or [])
        if fails:
            lvl = "act" if fails > cfg.max_jeffreys_failures else "watch"
            out.append(Breach("jeffreys_failures", "grades with PD too low: " + ", ".join(backtest["jeffreys_failures"]),
                              float(fails), float(cfg.max_jeffreys_failures), lvl))
        if backtest["mean_pd"] < backtest["default_rate_lo95"]:  # risk under-estimated (above the interval: conservative)
            out.append(Breach("mean_pd_below_interval", f"mean PD {backtest['mean_pd']:.4f} vs default rate "
                              f"{backtest['default_rate']:.4f} [{backtest['default_rate_lo95']:.4f}, "
                              f"{backtest['default_rate_hi95']:.4f}]", backtest["mean_pd"], backtest["default_rate"], "watch"))
        if validation_auc is not None and backtest.get("auc") is not None:
            drop = validation_auc - backtest["auc"]
            d, n = backtest["defaults"], backtest["loans"]
            rd = round(validation.get("rows", 0) * validation.get("default_rate", 0))
            se = math.hypot(auc_standard_error(backtest["auc"], d, n - d),
                            auc_standard_error(validation_auc, rd, validation.get("rows", 0) - rd) if rd else 0.0)
            lvl = _band(drop, cfg.auc_drop_watch, cfg.auc_drop_act) if drop > Z_ONE_SIDED_95 * se else None
            if lvl:
                out.append(Breach("auc_drop", f"AUC {backtest['auc']:.3f} vs validation {validation_auc:.3f}", drop,
                                  cfg.auc_drop_act if lvl == "act" else cfg.auc_drop_watch, lvl))
    return out


def verdict_of(breaches: list[Breach]) -> Level:
    return max((b.level for b in breaches), key=LEVELS.index, default="stable")


def overall(verdicts: list[Level]) -> Level:
    return max(verdicts, key=LEVELS.index, default="stable")
