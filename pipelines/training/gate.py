"""Register a run's models and let the promotion gate decide, failing safe.

Two phases: first every verdict is decided from read-only calls (which version is champion, the
champion's metrics on the challenger's own test rows); only then are verdicts applied (tags and
aliases). Any failure — the registry not answering at any step, a champion that cannot be loaded
or re-scored — stops the run: aliases already moved are put back, the versions this run
registered are deleted, and the error names the step that failed. A registry hiccup never
promotes a challenger by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.errors import IpriskError, ModelError
from models import metrics as M
from pipelines import registry
from pipelines.promotion import GateConfig, GateDecision, calibration_ok, decide
from pipelines.training.lgd_targets import lgd_eval
from pipelines.training.splits import subset_book

ChampionMetrics = Callable[[str, Any], dict[str, float]]
"""(model kind, the champion's pyfunc wrapper) → its metrics on the challenger's test rows."""

SCORING_ERRORS = (IpriskError, KeyError, ValueError, TypeError, AttributeError, IndexError)
"""What a champion's own code can raise when it meets the challenger's test rows."""


def _challenger_metrics(kind: str, metrics: Mapping[str, float]) -> dict[str, Any]:
    if kind == "recovery":
        return {"lgd_mae": metrics.get("recovery.lgd_mae")}
    if kind == "survival":
        return {"c_index": metrics.get("survival.c_index")}
    pre = ("pd_role." if "pd_role.auc" in metrics else "pd.") if kind == "pd" else "scorecard."
    return {k: metrics[pre + k] for k in ("auc", "jeffreys_pass_share", "mean_pd_in_interval")}


def _verdict(kind: str, name: str, version: str, metrics: Mapping[str, float], champ: dict[str, float] | None,
             champ_v: str | None, gate: GateConfig) -> GateDecision:
    chal = _challenger_metrics(kind, metrics)
    if kind == "recovery":
        return decide(name, version, chal, champ, champ_v, gate, metric="lgd_mae", higher_is_better=False, check_calibration=False)
    if kind == "survival":  # patent survival: Harrell's C must beat the champion's by gate.min_auc_gain
        return decide(name, version, chal, champ, champ_v, gate, metric="c_index", check_calibration=False)
    return decide(name, version, chal, champ, champ_v, gate)  # PD role and scorecard: the same calibration checks


PD_FAMILIES = ("lightgbm", "scorecard")
"""Families that compete for the PD role, with the metric prefix each one's test figures carry."""
FAMILY_PREFIX = {"lightgbm": "pd.", "scorecard": "scorecard."}


def choose_pd_family(metrics: Mapping[str, float], gate: GateConfig) -> tuple[str, dict[str, str]]:
    """Which family takes the PD role: of the candidates that pass the *same* calibration checks
    on the *same* out-of-time rows, the one with the highest AUC; when none passes, the highest
    AUC (it is registered, fails the gate and becomes the challenger). Returns (family,
    family → "passes" or the failed check)."""
    why = {}
    for f in PD_FAMILIES:
        ok, reason = calibration_ok({k: metrics.get(FAMILY_PREFIX[f] + k) for k in ("jeffreys_pass_share", "mean_pd_in_interval")}, gate)
        why[f] = "passes" if ok else reason
    passing = [f for f in PD_FAMILIES if why[f] == "passes"] or list(PD_FAMILIES)
    return max(passing, key=lambda f: metrics[FAMILY_PREFIX[f] + "auc"]), why


def role_metrics(metrics: Mapping[str, float], family: str) -> dict[str, float]:
    """The chosen family's test figures under `pd_role.*` (what the gate holds the PD role to)."""
    pre = FAMILY_PREFIX[family]
    return {f"pd_role.{k[len(pre):]}": v for k, v in metrics.items() if k.startswith(pre)} | {
        "pd_role.is_scorecard": float(family == "scorecard")}


def _champion_metrics(kind: str, name: str, champ_v: str, champion_metrics: ChampionMetrics) -> dict[str, float]:
    wrapper = registry.load_wrapper(name, champ_v)[0]  # RegistryError when it cannot be loaded
    try:
        return champion_metrics(kind, wrapper)
    except SCORING_ERRORS as e:
        raise ModelError(f"promotion gate: champion {name} v{champ_v} could not be re-scored on the challenger's "
                         f"test rows ({type(e).__name__}: {e}); nothing promoted") from e


def register_and_gate(uris: Mapping[str, str], names: Mapping[str, str], tags: Mapping[str, str],
                      metrics: Mapping[str, float], champion_metrics: ChampionMetrics,
                      gate: GateConfig) -> tuple[dict[str, str], list[GateDecision]]:
    """Register every logged model (kind → URI; all or none), decide each verdict against its
    champion on the same test rows, then apply the verdicts. Returns (kind → version, verdicts)."""
    versions = registry.register_all(uris, names, tags)
    previous: dict[str, tuple[str | None, str | None]] = {}
    try:
        decisions = []
        for kind, version in versions.items():
            name = names[kind]
            champ_v = registry.alias_version(name, registry.CHAMPION)
            previous[name] = (champ_v, registry.alias_version(name, registry.CHALLENGER))
            champ = None
            if champ_v is not None and champ_v != version:
                champ = _champion_metrics(kind, name, champ_v, champion_metrics)
            decisions.append(_verdict(kind, name, version, metrics, champ, champ_v, gate))
        for d in decisions:
            registry.apply_gate(d, d.model)
    except BaseException as e:  # cleanup, then the original error goes on
        problems = registry.restore_aliases(previous)
        left = registry.rollback({names[k]: v for k, v in versions.items()})
        if problems or left:
            e.add_note(f"registry left in an unknown state: aliases not restored {problems}, versions not deleted "
                       f"{left}; check with `iprisk evaluate` and fix with `iprisk promote`")
        raise
    return versions, decisions


def book_champion_metrics(tables: Mapping[str, pd.DataFrame], test_m: np.ndarray, y_te: np.ndarray, loans: pd.DataFrame,
                          outcomes: pd.DataFrame, discount_rate: float) -> ChampionMetrics:
    """Scores a loan-book champion on the same out-of-time rows, rebuilding features with its own builder."""
    test_ids = pd.Index(loans.loc[test_m, "loan_id"])
    test_tables = subset_book(tables, test_ids)

    def score(kind: str, wrapper: Any) -> dict[str, float]:
        Xc = wrapper.feature_builder.transform(test_tables).reindex(test_ids)
        if kind == "recovery":
            rows = outcomes.reindex(test_ids)["defaulted"].astype(bool).to_numpy()
            ev = lgd_eval(wrapper.recovery_model, loans[test_m].reset_index(drop=True), outcomes.reindex(test_ids).reset_index(),
                          Xc.reset_index(drop=True), rows, discount_rate)
            return {"lgd_mae": ev["metrics"].get("lgd_mae")}
        est = wrapper.pd_model if kind == "pd" else wrapper.scorecard
        return {"auc": M.auc(y_te, est.predict_pd(Xc[list(est.feature_names_)]))}

    return score


def table_champion_metrics(X_te: pd.DataFrame, y_te: np.ndarray) -> ChampionMetrics:
    """Scores a firm-level table's champion on the challenger's hold-out rows."""
    def score(kind: str, wrapper: Any) -> dict[str, float]:
        est = wrapper.pd_model if kind == "pd" else wrapper.scorecard
        return {"auc": M.auc(y_te, est.predict_pd(X_te[list(est.feature_names_)]))}

    return score


def no_champion_advice(decisions: list[Any]) -> list[str]:
    """What to do, in plain words, when a PD candidate failed its checks and no champion serves.

    ``decisions``: gate verdicts (GateDecision or their dicts). One line per PD-role model left
    without a champion; recalibration is offered where calibration in the large is the only failure."""
    out = []
    for d in decisions:
        g = d if isinstance(d, dict) else d.__dict__
        if not str(g["model"]).startswith(("iprisk-pd", "iprisk-scorecard")) or g["decision"] != "rejected" or g["champion_version"]:
            continue
        if "mean predicted PD" in g["reason"]:
            how = ("calibration in the large is the only failure: recalibrate the intercept on the latest labelled year "
                   "(`iprisk train --data DIR --recalibrate`, recorded in MLflow), or promote by hand with a recorded reason")
        else:
            how = "more data (defaults) would help; or promote by hand with a recorded reason"
        out.append(f"{g['model']} has no champion: v{g['version']} failed the checks ({g['reason']}); {how}: "
                   f"`iprisk promote {g['model']} {g['version']} --reason \"…\" --force`")
    return out
