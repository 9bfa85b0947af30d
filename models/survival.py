"""Patent survival: the probability that a granted patent is still in force t years after a date,
with right-censoring handled by the estimators (rights in force at the register snapshot are
censored there, not counted as survivors to infinity nor dropped).

`PatentSurvivalModel` follows scikit-learn's conventions (configuration in ``__init__``, learning
in ``fit``, fitted state in attributes ending in ``_``; no I/O). Kinds (``SurvivalConfig.kind``):

- ``"cox"``: ridge-penalised Cox proportional hazards (scikit-survival ``CoxPHSurvivalAnalysis``
  on standardised indicators), Breslow baseline;
- ``"gbm"``: gradient-boosted Cox model with regression trees (``GradientBoostingSurvivalAnalysis``,
  partial-likelihood loss, subsampling), Breslow baseline;
- ``"rsf"``: random survival forest (log-rank splits; Nelson–Aalen per leaf);
- ``"ensemble"`` (default): the mean of the ``gbm`` and ``rsf`` survival curves. Measured on the
  same 5 folds of the CNIPA sample (bench/bench_survival.py) it gave the best and steadiest
  out-of-fold concordance; docs/collateral.md has the figures.

Survival curves are evaluated on a monthly grid up to ``max_years``; every curve is a step function
that starts at 1 and never rises (each estimator's curve does not, and a mean of non-increasing
curves does not either). The risk score that ranks patents is minus the restricted mean time in
force up to ``tau_years`` (−∫₀^τ S(t) dt), which orders patents whatever the shape of the curves
(proportional hazards or not). Conditional survival from a date after grant is
``S(e + t) / S(e)`` for ``e`` = years already in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sksurv.ensemble import GradientBoostingSurvivalAnalysis, RandomSurvivalForest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.nonparametric import kaplan_meier_estimator
from sksurv.util import Surv

from data_contracts import ContractError, ModelError

Kind = Literal["ensemble", "rsf", "gbm", "cox"]
KINDS: tuple[str, ...] = ("ensemble", "rsf", "gbm", "cox")


@dataclass(frozen=True)
class SurvivalConfig:
    """Settings of the patent survival model (all documented here; defaults measured, not tuned to folds).

    - ``kind``: "ensemble" (gbm + rsf curves averaged), "rsf", "gbm" or "cox".
    - ``max_years`` (15) and ``grid_step_years`` (1/12): the curve grid; the CNIPA follow-up after
      grant reaches 14.8 years.
    - ``tau_years`` (12): horizon of the restricted mean time in force used as risk score and of
      Uno's C (beyond it few rights are still observed).
    - ``rsf_trees`` 100, ``rsf_min_leaf`` 20, ``rsf_max_features`` 0.33: forest size and leaf size
      (a leaf of 20 rights keeps each leaf's Nelson–Aalen curve stable); training times rounded up
      to the grid step so the stored curves stay small (about 16 MB pickled for 1,300 rights).
    - ``gbm_trees`` 250, ``gbm_learning_rate`` 0.03, ``gbm_max_depth`` 3, ``gbm_subsample`` 0.7,
      ``gbm_max_features`` "sqrt": shallow trees, slow learning and subsampling against overfitting.
    - ``cox_alpha`` 5.0: ridge penalty of the Cox model on standardised indicators.
    - ``random_state`` 0: seeds every random step (same data and config → same model).
    - ``n_jobs`` 1: forest threads.
    """

    kind: Kind = "ensemble"
    max_years: float = 15.0
    grid_step_years: float = 1.0 / 12.0
    tau_years: float = 12.0
    rsf_trees: int = 100
    rsf_min_leaf: int = 20
    rsf_max_features: float = 0.33
    gbm_trees: int = 250
    gbm_learning_rate: float = 0.03
    gbm_max_depth: int = 3
    gbm_subsample: float = 0.7
    gbm_max_features: str | float | None = "sqrt"
    cox_alpha: float = 5.0
    random_state: int = 0
    n_jobs: int = 1

    def __post_init__(self) -> None:
        bad = []
        if self.kind not in KINDS:
            bad.append(f"kind={self.kind!r} (one of {', '.join(KINDS)})")
        for name in ("max_years", "grid_step_years", "tau_years", "gbm_learning_rate", "gbm_subsample", "rsf_max_features"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
                bad.append(f"{name}={v!r} (must be > 0)")
        for name in ("rsf_trees", "rsf_min_leaf", "gbm_trees", "gbm_max_depth", "n_jobs"):
            if int(getattr(self, name)) < 1:
                bad.append(f"{name}={getattr(self, name)!r} (must be >= 1)")
        if self.cox_alpha < 0:
            bad.append(f"cox_alpha={self.cox_alpha!r} (must be >= 0)")
        if self.tau_years > self.max_years:
            bad.append(f"tau_years={self.tau_years} beyond max_years={self.max_years}")
        if bad:
                raise ContractError("settings section 'patent_survival': " + "; ".join(bad))


def _structured(time: ArrayLike, event: ArrayLike) -> np.ndarray:
    return Surv.from_arrays(np.asarray(event, dtype=bool), np.asarray(time, dtype=float))


def _step_values(fn, grid: NDArray[np.float64]) -> NDArray[np.float64]:
    """A scikit-survival StepFunction's values on ``grid`` (1 before its first time, last value after)."""
    x, y = np.asarray(fn.x, float), np.asarray(fn.y, float)
    idx = np.searchsorted(x, grid, side="right") - 1
    return np.where(idx < 0, 1.0, y[np.clip(idx, 0, len(y) - 1)])


class PatentSurvivalModel:
    """P(a granted patent is still in force t years after grant | its indicators at grant).

    ``fit(X, time, event)``: ``X`` a float frame of indicators (NaN allowed: imputed with the
    training medians), ``time`` years from grant to lapse or censoring (> 0), ``event`` True where
    the right lapsed. Fitted: ``feature_names_``, ``medians_``, ``grid_`` (years), ``estimators_``,
    ``n_``, ``events_``.
    """

    def __init__(self, config: SurvivalConfig | None = None):
        self.config = config or SurvivalConfig()

    # -- fitting --------------------------------------------------------------------------
    def _estimators(self) -> dict[str, object]:
        c = self.config
        make = {
            "rsf": lambda: RandomSurvivalForest(n_estimators=c.rsf_trees, min_samples_leaf=c.rsf_min_leaf,
                                                max_features=c.rsf_max_features, n_jobs=c.n_jobs, random_state=c.random_state),
            "gbm": lambda: GradientBoostingSurvivalAnalysis(n_estimators=c.gbm_trees, learning_rate=c.gbm_learning_rate,
                                                            max_depth=c.gbm_max_depth, subsample=c.gbm_subsample,
                                                            max_features=c.gbm_max_features, random_state=c.random_state),
            "cox": lambda: make_pipeline(StandardScaler(), CoxPHSurvivalAnalysis(alpha=c.cox_alpha, ties="breslow")),
        }
        kinds = ("gbm", "rsf") if c.kind == "ensemble" else (c.kind,)
        return {k: make[k]() for k in kinds}

    def fit(self, X: pd.DataFrame, time: ArrayLike, event: ArrayLike) -> PatentSurvivalModel:
        if not isinstance(X, pd.DataFrame):
            raise ModelError("patent survival: X must be a DataFrame of indicators")
        t = np.asarray(time, dtype=float)
        e = np.asarray(event, dtype=bool)
        if not (len(X) == len(t) == len(e)):
            raise ModelError(f"patent survival: {len(X)} rows of indicators but {len(t)} times and {len(e)} events")
        if len(X) < 20 or e.sum() < 5:
            raise ModelError(f"patent survival: too little data to fit ({len(X)} rights, {int(e.sum())} lapses; need ≥ 20 and ≥ 5)")
        if not np.all(np.isfinite(t)) or (t <= 0).any():
            raise ModelError("patent survival: times must be finite and > 0 (years from grant to lapse or censoring)")
        self.feature_names_ = [str(c) for c in X.columns]
        Xf = X.astype("float64")
        med = Xf.median()
        self.medians_ = med.fillna(0.0)
        Z = Xf.fillna(self.medians_).to_numpy()
        c = self.config
        self.grid_ = np.round(np.arange(0.0, c.max_years + 1e-9, c.grid_step_years), 10)
        self.estimators_ = {}
        for kind, est in self._estimators().items():
            tt = t
            if kind == "rsf":  # times on the grid: same curves, far smaller trees to store
                tt = np.minimum(np.ceil(t / c.grid_step_years - 1e-9) * c.grid_step_years, c.max_years)
            est.fit(Z, _structured(tt, e))
            self.estimators_[kind] = est
        self.n_ = len(t)
        self.events_ = int(e.sum())
        self.max_time_ = float(t.max())
        return self

    # -- prediction -----------------------------------------------------------------------
    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "estimators_"):
            raise ModelError("patent survival: model is not fitted")
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ModelError(f"patent survival: input lacks indicator column(s) {missing[:10]}")
        return X[self.feature_names_].astype("float64").fillna(self.medians_).to_numpy()

    def survival_curves(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """S(t) on ``grid_`` for each row: shape (n, len(grid_)), 1 at t = 0, non-increasing in t."""
        Z = self._matrix(X)
        curves = []
        for est in self.estimators_.values():
            fns = est.predict_survival_function(Z)
            curves.append(np.vstack([_step_values(fn, self.grid_) for fn in fns]) if len(fns) else np.empty((0, len(self.grid_))))
        S = np.mean(curves, axis=0)
        S[:, 0] = 1.0
        return np.minimum.accumulate(np.clip(S, 0.0, 1.0), axis=1)

    def predict_survival(self, X: pd.DataFrame, horizons: Sequence[float], elapsed_years: float | ArrayLike = 0.0) -> NDArray[np.float64]:
        """P(in force at ``elapsed + h`` | in force at ``elapsed``) for each row and horizon ``h``
        (years), shape (n, len(horizons)). ``elapsed_years``: years since grant already survived
        (one number or one per row); 0 = from the grant date. Beyond ``max_years`` the curve is flat."""
        h = np.asarray(horizons, dtype=float)
        if h.ndim != 1 or (h < 0).any() or not np.all(np.isfinite(h)):
            raise ModelError(f"patent survival: horizons must be non-negative years, got {list(h)}")
        S = self.survival_curves(X)
        el = np.broadcast_to(np.asarray(elapsed_years, dtype=float), (S.shape[0],))
        if (el < 0).any() or not np.all(np.isfinite(el)):
            raise ModelError("patent survival: elapsed_years must be finite and >= 0")
        idx = lambda years: np.clip(np.searchsorted(self.grid_, years + 1e-9, side="right") - 1, 0, len(self.grid_) - 1)
        rows = np.arange(S.shape[0])[:, None]
        base = S[np.arange(S.shape[0]), idx(el)][:, None]
        later = S[rows, idx(el[:, None] + h[None, :])]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(base > 0, later / np.where(base > 0, base, 1.0), 0.0)
        return np.clip(out, 0.0, 1.0)

    def restricted_mean_years(self, X: pd.DataFrame, tau: float | None = None) -> NDArray[np.float64]:
        """Expected years in force within ``tau`` (default ``config.tau_years``): ∫₀^τ S(t) dt."""
        tau = self.config.tau_years if tau is None else float(tau)
        S = self.survival_curves(X)
        keep = self.grid_ <= tau + 1e-9
        step = np.diff(self.grid_[keep], append=self.grid_[keep][-1])
        return (S[:, keep] * step).sum(axis=1)  # left Riemann sum of the step function: exact on the grid

    def risk_score(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Higher = lapses sooner: minus the restricted mean time in force up to ``tau_years``."""
        return -self.restricted_mean_years(X)

    def get_params(self) -> dict:
        return asdict(self.config)


# --------------------------------------------------------------------------------------------
# evaluation (pure functions of times, events and scores)
# --------------------------------------------------------------------------------------------
def harrell_c(time: ArrayLike, event: ArrayLike, risk: ArrayLike) -> float:
    """Harrell's concordance: share of comparable pairs (the shorter time is a lapse) ordered by
    ``risk`` (higher = sooner), ties in risk counting ½."""
    return float(concordance_index_censored(np.asarray(event, bool), np.asarray(time, float), np.asarray(risk, float))[0])


def uno_c(train_time: ArrayLike, train_event: ArrayLike, time: ArrayLike, event: ArrayLike, risk: ArrayLike,
          tau: float) -> float:
    """Uno's concordance up to ``tau``, weighted by the inverse probability of censoring estimated
    on the training data (robust to the censoring pattern, unlike Harrell's)."""
    t = np.asarray(time, float)
    tr = _structured(train_time, train_event)
    tau = float(min(tau, np.max(tr["time"]) - 1e-6))
    te = _structured(np.minimum(t, np.max(tr["time"]) - 1e-6), event)  # IPCW needs test times inside the training range
    return float(concordance_index_ipcw(tr, te, np.asarray(risk, float), tau=tau)[0])


def kaplan_meier(time: ArrayLike, event: ArrayLike, horizons: Sequence[float]) -> tuple[NDArray, NDArray, NDArray]:
    """Kaplan–Meier survival at ``horizons`` with a 95% log-log interval: (estimate, low, high);
    NaN beyond the last observed time."""
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    h = np.asarray(horizons, float)
    out = np.full((3, len(h)), np.nan)
    if len(t) == 0:
        return out[0], out[1], out[2]
    x, s, ci = kaplan_meier_estimator(e, t, conf_type="log-log")
    idx = np.searchsorted(x, h, side="right") - 1
    ok = h <= t.max()
    for k, arr in enumerate((s, ci[0], ci[1])):
        vals = np.where(idx < 0, 1.0, arr[np.clip(idx, 0, len(arr) - 1)])
        out[k] = np.where(ok, vals, np.nan)
    return out[0], out[1], out[2]


def risk_bands(risk: ArrayLike, n_bands: int, edges: Sequence[float] | None = None) -> tuple[NDArray[np.int64], NDArray]:
    """Band of each row by ``risk`` (0 = safest); ``edges`` (n_bands − 1 cut points) default to the
    risk quantiles of these rows. Returns (bands, edges)."""
    r = np.asarray(risk, float)
    if edges is None:
        edges = np.quantile(r, np.linspace(0, 1, n_bands + 1)[1:-1]) if len(r) else np.array([])
    e = np.asarray(edges, float)
    return np.searchsorted(e, r, side="right").astype(np.int64), e


def calibration_table(time: ArrayLike, event: ArrayLike, predicted: NDArray[np.float64], horizons: Sequence[float],
                      bands: ArrayLike) -> pd.DataFrame:
    """Predicted against observed survival per risk band and horizon: one row per (band, horizon)
    with ``n``, ``lapses``, ``predicted`` (mean predicted survival), ``observed`` (Kaplan–Meier),
    its 95% interval (``observed_low``, ``observed_high``), ``error`` = predicted − observed and
    ``inside`` (the mean prediction lies in the interval). ``predicted``: shape (n, len(horizons))."""
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    b = np.asarray(bands)
    rows = []
    for band in sorted(np.unique(b)):
        m = b == band
        km, lo, hi = kaplan_meier(t[m], e[m], horizons)
        for k, h in enumerate(horizons):
            p = float(np.mean(predicted[m, k]))
            rows.append({"band": int(band) + 1, "n": int(m.sum()), "lapses": int(e[m].sum()), "horizon_years": float(h),
                         "predicted": p, "observed": float(km[k]), "observed_low": float(lo[k]), "observed_high": float(hi[k]),
                         "error": p - float(km[k]), "inside": bool(lo[k] <= p <= hi[k]) if np.isfinite(km[k]) else False})
    return pd.DataFrame(rows)


def kfold_indices(n: int, k: int, seed: int = 0) -> list[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """``k`` shuffled folds of ``range(n)``: (train positions, test positions), the same for every
    model compared on them."""
    if k < 2 or k > n:
        raise ModelError(f"cross-validation: k={k} must be between 2 and the number of rows ({n})")
    return [(tr.astype(np.int64), te.astype(np.int64)) for tr, te in KFold(k, shuffle=True, random_state=seed).split(np.arange(n))]
