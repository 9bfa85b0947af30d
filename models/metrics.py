"""Validation metrics for PD models: discrimination, calibration per grade, stability, concentration.

Pure functions over arrays. PDs are fractions in [0, 1]; ``y``/``defaults`` are 0/1 default flags
(1 = default); scores for discrimination may be any monotone risk score (higher = riskier).
The tests follow the usual validation standards (EBA GL/2017/16, ECB validation reporting):
Jeffreys test p = BetaCDF(mean PD; D + ½, N − D + ½) with p < 5 % meaning the PD is too low;
PSI = Σ (a − e)·ln(a / e) with bands < 0.10 stable, 0.10–0.25 watch, > 0.25 shift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import StratifiedKFold

from data_contracts.errors import ModelError

PSI_WATCH = 0.10
"""PSI at or above this: the distribution moved enough to watch."""
PSI_SHIFT = 0.25
"""PSI at or above this: a significant shift; the model needs review."""


def _flags(y: Any, name: str = "y") -> np.ndarray:
    a = np.asarray(y, dtype="float64").ravel()
    if a.size and not np.isin(a, (0.0, 1.0)).all():
        bad = np.unique(a[~np.isin(a, (0.0, 1.0))])[:5]
        raise ModelError(f"{name}: default flags must be 0 or 1; got e.g. {bad.tolist()}")
    return a.astype("int64")


def _probs(p: Any, name: str = "pd") -> np.ndarray:
    a = np.asarray(p, dtype="float64").ravel()
    bad = ~np.isfinite(a) | (a < 0) | (a > 1)
    if bad.any():
        raise ModelError(f"{name}: probabilities must be finite fractions in [0, 1]; got e.g. {a[bad][:5].tolist()}")
    return a


def _pair(y: Any, score: Any, score_name: str = "score") -> tuple[np.ndarray, np.ndarray]:
    yy = _flags(y)
    s = np.asarray(score, dtype="float64").ravel()
    if yy.shape != s.shape:
        raise ModelError(f"y has {yy.size} rows but {score_name} has {s.size}")
    return yy, s


# -- discrimination ----------------------------------------------------------------------------
def auc(y: Any, score: Any) -> float:
    """Area under the ROC curve of ``score`` (higher = riskier) against default flags ``y``; ties count ½."""
    yy, s = _pair(y, score)
    n1 = int(yy.sum())
    n0 = yy.size - n1
    if n1 == 0 or n0 == 0:
        raise ModelError(f"AUC needs both defaults and non-defaults; got {n1} default(s) among {yy.size} rows")
    ranks = stats.rankdata(s)  # average ranks handle ties
    return float((ranks[yy == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def gini(y: Any, score: Any) -> float:
    """Gini (accuracy ratio) = 2·AUC − 1."""
    return 2.0 * auc(y, score) - 1.0


def ks(y: Any, score: Any) -> float:
    """Kolmogorov–Smirnov statistic: the largest gap between the score CDFs of defaults and non-defaults."""
    yy, s = _pair(y, score)
    if yy.min() == yy.max():
        raise ModelError("KS needs both defaults and non-defaults")
    return float(stats.ks_2samp(s[yy == 1], s[yy == 0]).statistic)


def brier(y: Any, pd_: Any) -> float:
    """Brier score: mean squared error of the PDs against the default flags (lower is better)."""
    yy, p = _pair(y, _probs(pd_), "pd")
    return float(np.mean((p - yy) ** 2))


# -- calibration per grade ---------------------------------------------------------------------
def _per_grade(pd_by_row: Any, defaults: Any, grades: Any) -> pd.DataFrame:
    p = _probs(pd_by_row, "pd_by_row")
    d = _flags(defaults, "defaults")
    g = np.asarray(grades).ravel()
    if not (p.size == d.size == g.size):
        raise ModelError(f"pd_by_row, defaults and grades differ in length: {p.size}, {d.size}, {g.size}")
    frame = pd.DataFrame({"grade": g, "pd": p, "d": d})
    out = frame.groupby("grade", sort=True).agg(n=("d", "size"), defaults=("d", "sum"), mean_pd=("pd", "mean"))
    out["observed_dr"] = out["defaults"] / out["n"]
    return out


def jeffreys_test(pd_by_row: Any, defaults: Any, grades: Any, alpha: float = 0.05) -> pd.DataFrame:
    """Jeffreys test of each grade's PD against its defaults (ECB / EBA standard).

    Returns one row per grade (index ``grade``, sorted) with ``n``, ``defaults``, ``mean_pd``,
    ``observed_dr``, ``p_value`` = BetaCDF(mean PD; D + ½, N − D + ½) — the posterior probability
    that the true default rate is below the PD —, ``pd_too_low`` (p_value < alpha), and the
    two-sided ``p_value_two_sided`` = 2·min(p, 1 − p) with ``pd_too_high`` (1 − p < alpha).
    """
    out = _per_grade(pd_by_row, defaults, grades)
    a = out["defaults"] + 0.5
    b = out["n"] - out["defaults"] + 0.5
    p = stats.beta.cdf(out["mean_pd"].to_numpy(), a.to_numpy(), b.to_numpy())
    out["p_value"] = p
    out["pd_too_low"] = p < alpha
    out["p_value_two_sided"] = np.minimum(1.0, 2.0 * np.minimum(p, 1.0 - p))
    out["pd_too_high"] = (1.0 - p) < alpha
    return out


def binomial_test(pd_by_row: Any, defaults: Any, grades: Any, alpha: float = 0.05) -> pd.DataFrame:
    """Exact one-sided binomial test per grade: p = P(X ≥ D) for X ~ Binomial(N, mean PD).

    Same rows as :func:`jeffreys_test` with ``p_value`` and ``pd_too_low`` (p_value < alpha).
    """
    out = _per_grade(pd_by_row, defaults, grades)
    out["p_value"] = stats.binom.sf(out["defaults"].to_numpy() - 1, out["n"].to_numpy(), out["mean_pd"].to_numpy())
    out["pd_too_low"] = out["p_value"] < alpha
    return out


def hosmer_lemeshow(pd_: Any, y: Any, groups: int = 10) -> tuple[float, float]:
    """Hosmer–Lemeshow statistic over ``groups`` PD quantile groups, and its χ²(groups − 2) p-value."""
    yy, p = _pair(y, _probs(pd_), "pd")
    if groups < 3:
        raise ModelError(f"hosmer_lemeshow needs at least 3 groups; got {groups}")
    order = np.argsort(p, kind="mergesort")
    stat = 0.0
    used = 0
    for idx in np.array_split(order, groups):
        if idx.size == 0:
            continue
        used += 1
        n = idx.size
        expected = p[idx].sum()
        observed = yy[idx].sum()
        var = expected * (1.0 - expected / n)
        if var > 0:
            stat += (observed - expected) ** 2 / var
    dof = max(used - 2, 1)
    return float(stat), float(stats.chi2.sf(stat, dof))


def calibration_curve(pd_: Any, y: Any, bins: int = 10, level: float = 0.95) -> pd.DataFrame:
    """Mean PD against observed default rate in ``bins`` PD-quantile bins (ties kept together).

    One row per bin: ``n``, ``defaults``, ``mean_pd``, ``observed_dr`` and the Jeffreys interval
    ``dr_lower``/``dr_upper`` at ``level``.
    """
    yy, p = _pair(y, _probs(pd_), "pd")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = pd.DataFrame({"bin": idx, "pd": p, "d": yy})
    out = frame.groupby("bin").agg(n=("d", "size"), defaults=("d", "sum"), mean_pd=("pd", "mean"))
    out["observed_dr"] = out["defaults"] / out["n"]
    lo, hi = _jeffreys_interval(out["defaults"].to_numpy(), out["n"].to_numpy(), level)
    out["dr_lower"], out["dr_upper"] = lo, hi
    return out.reset_index(drop=True)


def _jeffreys_interval(d: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - level) / 2.0
    lo = np.where(d > 0, stats.beta.ppf(tail, d + 0.5, n - d + 0.5), 0.0)
    hi = np.where(d < n, stats.beta.ppf(1.0 - tail, d + 0.5, n - d + 0.5), 1.0)
    return lo, hi


def default_rate_interval(y: Any, level: float = 0.95, method: str = "jeffreys") -> tuple[float, float, float]:
    """Observed default rate of flags ``y`` and its two-sided interval: ``(rate, lower, upper)``.

    ``method`` is ``"jeffreys"`` (Beta(D + ½, N − D + ½) quantiles) or ``"clopper-pearson"`` (exact).
    """
    yy = _flags(y)
    n, d = yy.size, int(yy.sum())
    if n == 0:
        raise ModelError("default_rate_interval needs at least one row")
    if method == "jeffreys":
        lo, hi = _jeffreys_interval(np.array([d]), np.array([n]), level)
        return d / n, float(lo[0]), float(hi[0])
    if method == "clopper-pearson":
        tail = (1.0 - level) / 2.0
        lo = stats.beta.ppf(tail, d, n - d + 1) if d > 0 else 0.0
        hi = stats.beta.ppf(1.0 - tail, d + 1, n - d) if d < n else 1.0
        return d / n, float(lo), float(hi)
    raise ModelError(f"default_rate_interval: unknown method '{method}'; use 'jeffreys' or 'clopper-pearson'")


# -- stability and concentration ---------------------------------------------------------------
def psi(expected: Any, actual: Any, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` (e.g. scores or one feature).

    Buckets are the ``expected`` sample's quantiles (ties merged) plus a bucket for missing values
    when either sample has any; empty buckets get share ``eps``. See :func:`psi_band` for the bands.
    """
    e = np.asarray(expected, dtype="float64").ravel()
    a = np.asarray(actual, dtype="float64").ravel()
    if e.size == 0 or a.size == 0:
        raise ModelError(f"psi needs non-empty samples; got {e.size} expected and {a.size} actual rows")
    fin = e[np.isfinite(e)]
    inner = np.unique(np.quantile(fin, np.linspace(0, 1, bins + 1))[1:-1]) if fin.size else np.array([])

    def shares(x: np.ndarray) -> np.ndarray:
        ok = np.isfinite(x)
        counts = np.bincount(np.searchsorted(inner, x[ok], side="right"), minlength=inner.size + 1).astype(float)
        counts = np.append(counts, (~ok).sum())
        return np.maximum(counts / x.size, eps)

    se, sa = shares(e), shares(a)
    return float(np.sum((sa - se) * np.log(sa / se)))


def psi_band(value: float) -> str:
    """``"stable"`` below 0.10, ``"watch"`` from 0.10 to 0.25, ``"shift"`` at 0.25 and above."""
    return "stable" if value < PSI_WATCH else "watch" if value < PSI_SHIFT else "shift"


def herfindahl(grade_counts: Mapping[Any, float] | Sequence[float] | np.ndarray | pd.Series) -> float:
    """Herfindahl index Σ sᵢ² of the shares of exposures (or counts) per grade; 1/k for k equal grades."""
    vals = np.asarray(list(grade_counts.values()) if isinstance(grade_counts, Mapping) else grade_counts, dtype=float)
    total = vals.sum()
    if total <= 0 or (vals < 0).any():
        raise ModelError("herfindahl needs non-negative counts with a positive total")
    return float(np.sum((vals / total) ** 2))


# -- cross-validation --------------------------------------------------------------------------
def cross_validated_auc(
    model_factory: Callable[[], Any], X: pd.DataFrame, y: Any, k: int = 5, seed: int = 0
) -> tuple[float, float, list[float]]:
    """Stratified ``k``-fold CV AUC of a fresh ``model_factory()`` per fold: ``(mean, std, per_fold)``.

    The model needs ``fit(X, y)`` and either ``predict_pd(X)`` or ``predict_proba(X)[:, 1]``.
    """
    yy = _flags(y)
    per_fold: list[float] = []
    for tr, te in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(yy.size), yy):
        m = model_factory()
        m.fit(X.iloc[tr], yy[tr])
        p = m.predict_pd(X.iloc[te]) if hasattr(m, "predict_pd") else m.predict_proba(X.iloc[te])[:, 1]
        per_fold.append(auc(yy[te], p))
    return float(np.mean(per_fold)), float(np.std(per_fold)), per_fold
