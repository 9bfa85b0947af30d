"""The validation report's sections (text, metrics, tables, plots) for a loan book and for a
firm-level table; `pipelines.report.write_report` renders them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.direction_evidence import describe_contradictions
from pipelines import report as R

SIDE_BY_SIDE = ("auc", "gini", "ks", "brier", "mean_pd", "jeffreys_pass_share", "hosmer_lemeshow_p")


def _pick(metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}


def book_sections(y: np.ndarray, p: np.ndarray, sc: np.ndarray, oracle: np.ndarray | None, metrics: Mapping[str, float],
                  jeffreys: pd.DataFrame, grades: pd.DataFrame, psi: pd.Series, lgd_eval: Mapping[str, Any],
                  validation: Any, test_years: list[int]) -> list[dict[str, Any]]:
    """Sections of the loan book's report: data, PD discrimination and calibration, the scorecard
    beside LightGBM, Jeffreys per grade, population stability, recovery and LGD."""
    side = pd.DataFrame([
        {"model": "LightGBM PD (champion candidate)", **{k: metrics.get(f"pd.{k}") for k in SIDE_BY_SIDE}},
        {"model": "WoE scorecard", **{k: metrics.get(f"scorecard.{k}") for k in SIDE_BY_SIDE}},
    ])
    return [
        {"title": "Data", "text": f"Out-of-time test on origination year(s) {test_years}. Data validation: "
                                  f"{'passed' if validation.success else 'FAILED'}; Data Docs at {validation.html_path}.",
         "metrics": {k: v for k, v in metrics.items() if k.startswith("oracle.")}},
        {"title": "PD model — discrimination and calibration", "metrics": _pick(metrics, "pd."),
         "images": {"ROC": R.roc_plot(y, {"LightGBM PD": p, "scorecard": sc}, oracle),
                    "Calibration": R.calibration_plot(y, {"LightGBM PD": p, "scorecard": sc})}},
        {"title": "Scorecard beside LightGBM", "tables": {"Side by side (test rows)": side}, "metrics": _pick(metrics, "scorecard.")},
        {"title": "Calibration per grade (Jeffreys test)", "text": "p = BetaCDF(mean PD; D+½, N−D+½); flagged when p < 5% (PD too low).",
         "tables": {"Jeffreys per grade": jeffreys, "Grade distribution": grades}, "images": {"Grades": R.grade_plot(grades)}},
        {"title": "Population stability (train → test)", "metrics": {"PSI of the score": metrics.get("pd.psi_score")},
         "tables": {"PSI per feature (largest 20)": psi.head(20).rename("psi").reset_index().rename(columns={"index": "feature"})},
         "images": {"PSI": R.psi_plot(psi)} if len(psi) else {}},
        {"title": "Recovery and LGD", "metrics": _pick(metrics, "recovery."),
         "images": {"LGD calibration": R.lgd_plot(lgd_eval["realised"], lgd_eval["expected"])} if len(lgd_eval["realised"]) else {}},
    ]


def evidence_table(evidence: pd.DataFrame | None) -> pd.DataFrame:
    """The direction-evidence table for the report, directions in words."""
    if evidence is None or not len(evidence):
        return pd.DataFrame(columns=["feature", "contract", "data", "spearman_rho", "p_supported", "p_contradicted", "verdict", "enforced"])
    word = {1: "riskier", -1: "safer", 0: "–"}
    return pd.DataFrame({"feature": evidence["feature"], "contract": evidence["contract"].map(word), "data": evidence["data"].map(word),
                         "spearman_rho": evidence["rho"].round(4), "p_supported": evidence["p_supported"],
                         "p_contradicted": evidence["p_contradicted"], "verdict": evidence["verdict"],
                         "enforced": evidence["enforced"].map({True: "yes", False: "no"})})


def direction_section(evidence: pd.DataFrame | None, policy: str, contradictions: list[str]) -> dict[str, Any]:
    """What the data say about every stated risk direction, and what was enforced."""
    text = (f"Policy '{policy}'. Each contract risk direction is tested on the training rows: Spearman ρ with the default flag "
            "and one-sided permutation p-values (models/direction_evidence.py). 'rejected' = contradicted at the strong level: "
            "fix the contract. Directions are never flipped.")
    if contradictions:
        text += " Contradictions: " + " | ".join(contradictions)
    return {"title": "Risk directions: contract vs data", "text": text, "tables": {"Direction evidence": evidence_table(evidence)}}


def table_sections(table: str, target: str, eval_text: str, y: np.ndarray, p: np.ndarray, sc: np.ndarray,
                   metrics: Mapping[str, float], jeffreys: pd.DataFrame, grades: pd.DataFrame,
                   evidence: pd.DataFrame | None = None, policy: str = "contract") -> list[dict[str, Any]]:
    """Sections of a firm-level table's report: the PD model on the hold-out (or the test file),
    the scorecard beside it, Jeffreys per grade, and the risk directions' evidence."""
    side = pd.DataFrame([{"model": "LightGBM PD", "auc": metrics["pd.auc"], "cv_auc_mean": metrics.get("cv_auc_mean")},
                         {"model": "WoE scorecard", "auc": metrics["scorecard.auc"], "cv_auc_mean": metrics.get("scorecard.cv_auc_mean")}])
    calib = {k: metrics.get(f"pd.{k}") for k in ("mean_pd", "default_rate", "default_rate_lo95", "default_rate_hi95",
                                                 "mean_pd_in_interval", "jeffreys_pass_share", "psi_score")}
    return [
        {"title": f"PD model on {table}", "text": f"{eval_text} Target {target}.",
         "metrics": {k: v for k, v in metrics.items() if not k.startswith(("scorecard.", "test."))},
         "images": {"ROC": R.roc_plot(y, {"LightGBM PD": p, "scorecard": sc}), "Calibration": R.calibration_plot(y, {"LightGBM PD": p})}},
        {"title": "Calibration in the large", "text": "Mean PD against the observed default rate and its 95% Jeffreys interval; "
                                                      "PSI of the score between the training and evaluation rows.",
         "metrics": {k: v for k, v in calib.items() if v is not None}},
        {"title": "Scorecard beside LightGBM", "tables": {"Side by side": side}},
        {"title": "Calibration per grade (Jeffreys test)", "tables": {"Jeffreys per grade": jeffreys, "Grades": grades}},
        direction_section(evidence, policy, describe_contradictions(evidence, table) if evidence is not None else []),
    ]
