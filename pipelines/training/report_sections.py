"""The validation report's sections (text, metrics, tables, plots) for a loan book and for a
firm-level table; `pipelines.report.write_report` renders them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

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


def table_sections(table: str, target: str, test_share: float, y: np.ndarray, p: np.ndarray, sc: np.ndarray,
                   metrics: Mapping[str, float], jeffreys: pd.DataFrame, grades: pd.DataFrame) -> list[dict[str, Any]]:
    """Sections of a firm-level table's report: the PD model on the hold-out, the scorecard beside
    it, Jeffreys per grade."""
    side = pd.DataFrame([{"model": "LightGBM PD", "auc": metrics["pd.auc"], "cv_auc_mean": metrics.get("cv_auc_mean")},
                         {"model": "WoE scorecard", "auc": metrics["scorecard.auc"], "cv_auc_mean": metrics.get("scorecard.cv_auc_mean")}])
    return [
        {"title": f"PD model on {table}", "text": f"Hold-out: {test_share:.0%} stratified; target {target}.",
         "metrics": {k: v for k, v in metrics.items() if not k.startswith("scorecard.")},
         "images": {"ROC": R.roc_plot(y, {"LightGBM PD": p, "scorecard": sc}), "Calibration": R.calibration_plot(y, {"LightGBM PD": p})}},
        {"title": "Scorecard beside LightGBM", "tables": {"Side by side": side}},
        {"title": "Calibration per grade (Jeffreys test)", "tables": {"Jeffreys per grade": jeffreys, "Grades": grades}},
    ]
