"""Back-test of recorded decisions against what happened: discrimination and calibration of the
recorded PDs (AUC, Gini, mean PD against the observed default rate with its Jeffreys interval,
Jeffreys test per grade) and, where recoveries are known, the recorded LGDs against realised ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data_contracts.errors import ModelError
from models import metrics as M


def backtest(y: np.ndarray, pd_: np.ndarray, grades: np.ndarray, lgd_pred: np.ndarray | None = None,
             lgd_real: np.ndarray | None = None, grade_order: list[str] | None = None) -> dict[str, Any]:
    """Figures of one back-test set: defaults `y` (n,) 0/1, recorded PDs (n,), grades (n,), and the
    recorded and realised LGDs of the defaulted loans (NaN where unknown)."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(pd_, dtype=float)
    n, d = int(y.size), int(y.sum())
    out: dict[str, Any] = {"loans": n, "defaults": d}
    if n == 0:
        return out
    rate, lo, hi = M.default_rate_interval(y, 0.95)
    out |= {"mean_pd": float(p.mean()), "default_rate": rate, "default_rate_lo95": lo, "default_rate_hi95": hi,
            "mean_pd_in_interval": bool(lo <= p.mean() <= hi)}
    try:
        out |= {"auc": M.auc(y, p), "gini": M.gini(y, p)}
    except ModelError:  # one class only
        out |= {"auc": None, "gini": None}
    jt = M.jeffreys_test(p, y, np.asarray(grades).astype(str)).reset_index()
    if grade_order:
        jt["order"] = jt["grade"].map({g: i for i, g in enumerate(grade_order)}).fillna(len(grade_order))
        jt = jt.sort_values("order").drop(columns="order")
    out["jeffreys"] = [{"grade": r.grade, "n": int(r.n), "defaults": int(r.defaults), "mean_pd": float(r.mean_pd),
                        "observed_dr": float(r.observed_dr), "p_value": float(r.p_value), "pd_too_low": bool(r.pd_too_low)}
                       for r in jt.itertuples()]
    out["jeffreys_failures"] = [r["grade"] for r in out["jeffreys"] if r["pd_too_low"]]
    if lgd_pred is not None and lgd_real is not None:
        a, b = np.asarray(lgd_pred, float), np.asarray(lgd_real, float)
        known = (y == 1) & np.isfinite(a) & np.isfinite(b)
        if known.any():
            out["lgd"] = {"loans": int(known.sum()), "mean_predicted": float(a[known].mean()),
                          "mean_realised": float(b[known].mean()), "mae": float(np.abs(a[known] - b[known]).mean())}
    return out


def calibration_table(y: np.ndarray, pd_: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean PD against observed default rate (with Jeffreys interval) in PD-quantile bins."""
    return M.calibration_curve(np.asarray(pd_, float), np.asarray(y, int), bins=bins)
