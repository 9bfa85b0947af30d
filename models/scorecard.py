"""A WoE logistic scorecard: optimal monotone binning (optbinning), logistic regression, points.

Each feature is binned with an explicit monotonic event-rate trend taken from its risk direction
(+1 riskier → "ascending", −1 safer → "descending", 0 or absent → "auto_asc_desc"), replaced by
its bin's weight of evidence (WoE = ln(non-default share / default share); NaN gets its own
"Missing" bin), and a logistic regression on the WoEs gives log-odds of default. Features whose
coefficient comes out with the wrong sign (or whose binning is a single bin) are dropped and the
regression refitted, so every kept feature's points follow its binning's trend.

Points use the industry scaling: score = offset + factor·ln(good:bad odds) with
factor = pdo / ln 2 and offset = base_points − factor·ln(base_odds); a higher score is safer.
The score is split into per-feature points; reason codes are the features losing most points
against their best bin.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from data_contracts.errors import ModelError
from models.calibration import LogOddsClassifierMixin
from models.direction_evidence import DirectionPolicy, choose_directions

TRENDS = {1: "ascending", -1: "descending", 0: "auto_asc_desc"}


@dataclass(frozen=True)
class ScorecardConfig:
    """Settings of :class:`Scorecard` (settings section ``scorecard``)."""

    pdo: float = 20.0
    """Points to double the good:bad odds."""
    base_points: float = 600.0
    """Score at the base odds."""
    base_odds: float = 50.0
    """Good:bad odds (non-defaults per default) that score ``base_points``."""
    max_n_prebins: int = 20
    """Pre-bins (quantiles) before optimal merging."""
    min_prebin_size: float = 0.05
    """Smallest pre-bin, as a share of rows."""
    max_n_bins: int | None = 8
    """Most bins per feature after optimisation (None = no limit)."""
    min_bin_size: float | None = 0.02
    """Smallest bin as a share of rows (None = optbinning's default)."""
    min_iv: float = 0.02
    """Features with a lower information value (or a single bin) are left out."""
    C: float = 1.0
    """Inverse L2 strength of the logistic regression."""
    min_defaults: int = 20
    """Fewest defaults (and non-defaults) needed to fit."""
    n_jobs: int = 1
    """Processes for binning (optbinning's n_jobs)."""


class Scorecard(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """WoE logistic scorecard with monotone bins and points.

    Parameters
    ----------
    config : ScorecardConfig, default ``ScorecardConfig()``.
    monotone_constraints : mapping feature name → +1 / −1 / 0 risk direction (e.g.
        ``contract.risk_directions()``), turned into explicit monotonic event-rate trends;
        absent features get "auto_asc_desc".
    direction_policy : :class:`~models.direction_evidence.DirectionPolicy` or None: which given
        directions become explicit trends after testing them on the training rows (None = all);
        the others get "auto_asc_desc".

    Fitted attributes
    -----------------
    ``feature_names_`` (input columns), ``features_`` (kept in the regression), ``dropped_``
    (name → reason), ``information_values_``, ``trends_`` (name → optbinning trend), ``binning_process_``,
    ``direction_evidence_`` (None without a policy), ``coef_`` (name → coefficient on WoE), ``intercept_``, ``factor_``, ``offset_``,
    ``points_table_`` (feature, bin, count, event_rate, woe, points), ``best_points_`` (name → max points).
    """

    def __init__(self, config: ScorecardConfig | None = None, monotone_constraints: Mapping[str, int] | None = None,
                 direction_policy: DirectionPolicy | None = None):
        self.config = config
        self.monotone_constraints = monotone_constraints
        self.direction_policy = direction_policy

    def fit(self, X: pd.DataFrame, y: Any) -> Scorecard:
        """Learn from ``X`` (n, p) numeric frame and ``y`` (n,) 0/1 default flags."""
        from optbinning import BinningProcess

        cfg = self.config or ScorecardConfig()
        if not isinstance(X, pd.DataFrame):
            raise ModelError("Scorecard.fit: X must be a pandas DataFrame with named feature columns")
        self.feature_names_ = [str(c) for c in X.columns]
        if len(set(self.feature_names_)) != len(self.feature_names_):
            raise ModelError("Scorecard.fit: duplicate feature columns")
        self.n_features_in_ = len(self.feature_names_)
        self.classes_ = np.array([0, 1])
        Xf = _numeric(X.set_axis(self.feature_names_, axis=1), "fit")
        yy = np.asarray(y, dtype="float64").ravel()
        if yy.size != len(Xf) or not np.isin(yy, (0.0, 1.0)).all():
            raise ModelError(f"Scorecard.fit: y must hold {len(Xf)} 0/1 default flags")
        yy = yy.astype("int64")
        d = int(yy.sum())
        if d == 0 or d == yy.size:
            raise ModelError(f"Scorecard.fit: the target holds only one class ({d} default(s) among {yy.size} rows)")
        if min(d, yy.size - d) < cfg.min_defaults:
            raise ModelError(
                f"Scorecard.fit: {d} default(s) and {yy.size - d} non-default(s); at least {cfg.min_defaults} "
                "of each are needed (min_defaults)"
            )
        signs = dict(self.monotone_constraints or {})
        bad = {k: v for k, v in signs.items() if v not in (-1, 0, 1)}
        if bad:
            raise ModelError(f"Scorecard: monotone trends must be +1, -1 or 0; got {bad}")
        signs, self.direction_evidence_ = choose_directions(Xf, yy, signs, self.direction_policy)
        self.trends_ = {n: TRENDS[int(signs.get(n, 0))] for n in self.feature_names_}
        fit_params = {n: {"monotonic_trend": t} for n, t in self.trends_.items()}
        self.binning_process_ = BinningProcess(
            variable_names=self.feature_names_,
            max_n_prebins=cfg.max_n_prebins,
            min_prebin_size=cfg.min_prebin_size,
            max_n_bins=cfg.max_n_bins,
            min_bin_size=cfg.min_bin_size,
            binning_fit_params=fit_params,
            n_jobs=cfg.n_jobs,
        ).fit(Xf, yy)
        W = self._woe(Xf)

        self.dropped_: dict[str, str] = {}
        iv = {n: float(self.binning_process_.get_binned_variable(n).binning_table.iv) for n in self.feature_names_}
        keep = [n for n in self.feature_names_ if W[n].nunique() > 1 and iv[n] >= cfg.min_iv]
        self.dropped_.update(
            {n: f"information value {iv[n]:.3f} below min_iv {cfg.min_iv}" for n in self.feature_names_ if n not in keep}
        )
        self.information_values_ = iv
        while keep:
            lr = LogisticRegression(C=cfg.C, max_iter=2000).fit(W[keep].to_numpy(), yy)
            coef = dict(zip(keep, lr.coef_[0]))
            worst = max(keep, key=lambda n: coef[n])  # WoE falls as risk rises, so coefficients must be <= 0
            if coef[worst] <= 0:
                break
            self.dropped_[worst] = "coefficient against the binning trend (collinear with kept features)"
            keep.remove(worst)
        if not keep:
            raise ModelError("Scorecard.fit: no feature carries information about defaults")
        self.features_ = keep
        self.coef_ = {n: float(coef[n]) for n in keep}
        self.intercept_ = float(lr.intercept_[0])
        self.factor_ = cfg.pdo / np.log(2.0)
        self.offset_ = cfg.base_points - self.factor_ * np.log(cfg.base_odds)
        self.points_table_ = self._points_table()
        self.best_points_ = self.points_table_.groupby("feature")["points"].max().to_dict()
        return self

    # -- points --------------------------------------------------------------------------------
    def _share(self) -> float:
        return (self.offset_ - self.factor_ * self.intercept_) / len(self.features_)

    def _points_of(self, name: str, woe: Any) -> Any:
        return -self.factor_ * self.coef_[name] * woe + self._share()

    def _points_table(self) -> pd.DataFrame:
        rows = []
        for n in self.features_:
            t = self.binning_process_.get_binned_variable(n).binning_table.build()
            t = t[t.index != "Totals"]
            for _, r in t.iterrows():
                if r["Count"] == 0:
                    continue
                rows.append(
                    {
                        "feature": n,
                        "bin": str(r["Bin"]),
                        "count": int(r["Count"]),
                        "event_rate": float(r["Event rate"]),
                        "woe": float(r["WoE"]),
                        "points": float(self._points_of(n, float(r["WoE"]))),
                    }
                )
        return pd.DataFrame(rows)

    def points(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points per kept feature and their ``total``, (n, features_ + 'total'); higher = safer."""
        W = self._kept_woe(self._aligned(X))
        out = pd.DataFrame({n: self._points_of(n, W[:, j]) for j, n in enumerate(self.features_)}, index=X.index)
        out["total"] = out.sum(axis=1)
        return out

    def log_odds(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of default, (n,)."""
        W = self._kept_woe(self._aligned(X))
        return self.intercept_ + W @ np.array([self.coef_[n] for n in self.features_])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Additive reasons in log-odds, (n, feature_names_ + 'bias'), rows summing to ``log_odds``:
        coefficient × WoE per kept feature (0 for dropped ones), the intercept in 'bias'. Positive =
        pushes towards default; a feature's points are ``share − factor_ × contribution``, so this is
        the scorecard's points read as log-odds (the same interface as the PD model's TreeSHAP)."""
        W = self._woe(self._aligned(X))
        out = pd.DataFrame(0.0, index=X.index, columns=self.feature_names_)
        for n in self.features_:
            out[n] = self.coef_[n] * W[n].to_numpy()
        out["bias"] = self.intercept_
        return out

    def with_intercept_shift(self, delta: float) -> Scorecard:
        """A copy whose log-odds are shifted by ``delta`` (recalibration in the large; points follow)."""
        new = copy.deepcopy(self)
        new.intercept_ = float(self.intercept_ + delta)
        new.points_table_ = new._points_table()
        new.best_points_ = new.points_table_.groupby("feature")["points"].max().to_dict()
        return new

    def reason_codes(self, X: pd.DataFrame, top_k: int = 3) -> pd.DataFrame:
        """The ``top_k`` features losing most points against their best bin, per row.

        Columns ``reason_1..k`` (feature names, None when fewer features lose points) and
        ``points_lost_1..k`` (points below the feature's best bin, NaN when absent).
        """
        pts = self.points(X).drop(columns="total")
        lost = pd.DataFrame({n: self.best_points_[n] - pts[n] for n in self.features_}, index=pts.index)
        L = lost.to_numpy()
        order = np.argsort(-L, axis=1, kind="stable")[:, :top_k]
        names = np.array(self.features_, dtype=object)
        out = {}
        for r in range(min(top_k, L.shape[1])):
            idx = order[:, r]
            val = L[np.arange(len(L)), idx]
            has = val > 1e-9
            out[f"reason_{r + 1}"] = np.where(has, names[idx], None)
            out[f"points_lost_{r + 1}"] = np.where(has, val, np.nan)
        return pd.DataFrame(out, index=pts.index)

    # -- helpers --------------------------------------------------------------------------------
    def _woe(self, Xf: pd.DataFrame) -> pd.DataFrame:
        W = self.binning_process_.transform(Xf, metric="woe", metric_missing="empirical", metric_special="empirical")
        return pd.DataFrame(np.asarray(W, dtype="float64"), columns=self.feature_names_, index=Xf.index)

    def _woe_lookup(self) -> dict[str, tuple[np.ndarray, np.ndarray, float]] | None:
        """Per kept feature: (splits, WoE per bin, WoE of the Missing bin), read once from the fitted
        binning by transforming one representative value per bin with optbinning itself (so the
        values are optbinning's own floats); None when a binning is not a plain numerical one
        without special codes (then every call goes through optbinning)."""
        cached = self.__dict__.get("woe_lookup_", False)
        if cached is not False:
            return cached
        from optbinning import OptimalBinning

        lookup: dict[str, tuple[np.ndarray, np.ndarray, float]] | None = {}
        for n in self.features_:
            optb = self.binning_process_.get_binned_variable(n)
            params = (self.binning_process_.binning_transform_params or {}).get(n, {})
            if type(optb) is not OptimalBinning or optb.dtype != "numerical" or optb.special_codes is not None or params:
                lookup = None
                break
            splits = np.asarray(optb.splits, dtype="float64")
            reps = np.concatenate([[-np.inf], splits, [np.nan]])  # bin 0, bin i ≥ 1 starts at splits[i-1], Missing
            w = np.asarray(optb.transform(reps, metric="woe", metric_missing="empirical", metric_special="empirical"), dtype="float64")
            lookup[n] = (splits, w[:-1].copy(), float(w[-1]))
        self.woe_lookup_ = lookup
        return lookup

    def _kept_woe(self, Xf: pd.DataFrame) -> np.ndarray:
        """WoE of the kept features, (n, len(features_)): np.digitize on the bin edges and a table
        lookup, the same rule optbinning applies per call (digitize with right=False, NaN → the
        Missing bin), without its per-call frame and mask work."""
        lookup = self._woe_lookup()
        if lookup is None:
            return self._woe(Xf)[self.features_].to_numpy()
        out = np.empty((len(Xf), len(self.features_)), order="F")  # the layout of the frame path (same matmul order)
        for j, n in enumerate(self.features_):
            x = Xf[n].to_numpy(dtype="float64")
            splits, w, w_missing = lookup[n]
            idx = np.digitize(x, splits, right=False) if len(splits) else np.zeros(len(x), dtype=np.int64)
            out[:, j] = np.where(np.isnan(x), w_missing, w[idx])
        return out

    def _aligned(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "features_"):
            raise ModelError("Scorecard is not fitted; call fit first")
        if not isinstance(X, pd.DataFrame):
            raise ModelError("Scorecard: X must be a pandas DataFrame with named feature columns")
        have = [str(c) for c in X.columns]
        missing = [c for c in self.feature_names_ if c not in have]
        extra = [c for c in have if c not in set(self.feature_names_)]
        if missing or extra:
            raise ModelError(
                f"Scorecard: feature columns do not match the fitted scorecard; missing {missing[:10]}, unexpected {extra[:10]}"
            )
        return _numeric(X.set_axis(have, axis=1)[self.feature_names_], "predict")


def _numeric(X: pd.DataFrame, where: str) -> pd.DataFrame:
    bad = [str(c) for c, t in X.dtypes.items() if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))]
    if bad:
        raise ModelError(f"Scorecard.{where}: feature columns must be numeric; not numeric: {bad[:10]}")
    return X.astype("float64")
