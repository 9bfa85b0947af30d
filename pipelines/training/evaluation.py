"""How good a PD is on one test set: discrimination, calibration per grade, stability; and the
risk directions' evidence in the forms the report, MLflow and the CLI use."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models import metrics as M
from models.decision import MasterScale, assign_grade


def pd_metrics(y: np.ndarray, p: np.ndarray, scale: MasterScale, prefix: str = "") -> tuple[dict[str, float], pd.DataFrame]:
    """Discrimination and calibration of PDs `p` (n,) against defaults `y` (n,) on one test set.

    Returns (flat metrics, per-grade table with Jeffreys p-values in master-scale order)."""
    grades = assign_grade(p, scale)
    jt = M.jeffreys_test(p, y, grades)
    _, lo, hi = M.default_rate_interval(y, 0.95)
    hl_stat, hl_p = M.hosmer_lemeshow(p, y)
    populated = jt[jt["n"] > 0]
    passed = (~populated["pd_too_low"].astype(bool)).mean() if len(populated) else float("nan")
    counts = pd.Series(grades).value_counts()
    m = {
        "auc": M.auc(y, p),
        "gini": M.gini(y, p),
        "ks": M.ks(y, p),
        "brier": M.brier(y, p),
        "mean_pd": float(np.mean(p)),
        "default_rate": float(np.mean(y)),
        "default_rate_lo95": lo,
        "default_rate_hi95": hi,
        "mean_pd_in_interval": float(lo <= np.mean(p) <= hi),
        "jeffreys_pass_share": float(passed),
        "hosmer_lemeshow_stat": hl_stat,
        "hosmer_lemeshow_p": hl_p,
        "grade_herfindahl": M.herfindahl(counts.values),
        "populated_grades": float(len(populated)),
    }
    order = [g for g in (*scale.grade_labels, scale.default_label) if g in jt.index]
    return {f"{prefix}{k}": float(v) for k, v in m.items()}, jt.reindex(order).reset_index()


def grade_table(p: np.ndarray, y: np.ndarray, scale: MasterScale) -> pd.DataFrame:
    """Per populated grade: loans, defaults, mean PD, default rate and share of the test rows."""
    labels = list(scale.grade_labels)
    g = pd.DataFrame({"grade": assign_grade(p, scale), "pd": p, "y": y})
    t = g.groupby("grade").agg(n=("y", "size"), defaults=("y", "sum"), mean_pd=("pd", "mean"), default_rate=("y", "mean"))
    t = t.reindex([lab for lab in labels if lab in t.index]).reset_index()
    t["share"] = t["n"] / t["n"].sum()
    return t


def psi_table(train: pd.DataFrame, test: pd.DataFrame, bins: int) -> pd.Series:
    """PSI of every non-constant feature between two frames, largest first."""
    out = {}
    for c in train.columns:
        a, b = train[c].to_numpy(float), test[c].to_numpy(float)
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if len(a) > 1 and len(b) > 1 and np.nanstd(a) > 0:
            out[c] = M.psi(a, b, bins=bins)
    return pd.Series(out, dtype=float).sort_values(ascending=False)


def direction_metrics(evidence: pd.DataFrame | None) -> dict[str, float]:
    """Counts of the direction evidence for MLflow: stated, enforced, contradicted, rejected."""
    if evidence is None:
        return {}
    v = evidence["verdict"]
    return {"directions.stated": float(len(evidence)), "directions.enforced": float(evidence["enforced"].sum()),
            "directions.contradicted": float((v == "contradicted").sum()), "directions.rejected": float((v == "rejected").sum())}


def evidence_records(evidence: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The evidence table as JSON-ready rows (directions as words)."""
    if evidence is None:
        return []
    word = {1: "riskier", -1: "safer", 0: "no clear direction"}
    return [{"feature": r.feature, "contract": word[r.contract], "data": word[r.data], "spearman_rho": round(float(r.rho), 4),
             "n": int(r.n), "p_supported": float(r.p_supported), "p_contradicted": float(r.p_contradicted),
             "verdict": r.verdict, "enforced": bool(r.enforced), "flag": bool(r.flag)} for r in evidence.itertuples()]
