"""Recovery model for defaulted IP-pledge loans: will the pledged patents sell, for how much, when.

Trained on defaulted loans' disposal outcomes (``outcomes`` contract: ``patents_sold``,
``sale_price``, ``recovery_date``). Three parts, each fitted on a loan-level float64 feature frame:

* ``p_sell(x)`` — probability the pledged patents sell (LightGBM + sigmoid calibration, or
  logistic regression);
* sale price as a fraction ``f`` of the pledge's total appraised value, for sold pledges:
  ``logit(f / cap) = μ(x) + ε`` with ``ε`` normal (dispersion from out-of-fold residuals) or the
  empirical out-of-fold residual distribution; ``cap`` (``price_fraction_cap``) lets sales above
  appraisal exist;
* years from default to recovery for sold pledges: mean, ridge or LightGBM regression, with the
  out-of-fold residual distribution.

Expected LGD integrates ``models.lgd.loss_given_default`` over the sold/unsold mixture, over
``n_price_nodes`` quantiles of the price distribution and ``n_year_nodes`` quantiles of the
recovery time (price and time residuals taken as independent), because
``E[max(EAD − P·DF, 0)] ≠ max(EAD − E[P]·DF, 0)``: plugging in the mean price would understate LGD.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, logit
from scipy.stats import norm
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data_contracts.errors import ContractError, ModelError
from models.lgd import discount_factor, loss_given_default
from models.pd_model import lightgbm_threads

_EPS = 1e-4
_CHUNK_ROWS = 4096


@dataclass(frozen=True)
class RecoveryConfig:
    """Recovery-model settings (settings section ``recovery``).

    ``min_defaults`` = 50 defaulted loans and ``min_sold`` = 20 sold pledges: below that a fitted
    disposal model says nothing a constant would not. ``sell_estimator``: ``lightgbm`` (sigmoid-
    calibrated, cross-fitted) or ``logistic``; ``price_estimator`` / ``years_estimator``:
    ``lightgbm``, ``linear`` (ridge) or ``mean`` (default for years: workout time is mostly court and
    auction calendar, and a regression on a few dozen sales extrapolates badly). ``price_fraction_cap`` = 1.5: the largest sale
    price as a fraction of appraised value the logit link allows. ``residuals``: ``normal``
    (logit-normal price) or ``empirical``. ``n_price_nodes`` = 64, ``n_year_nodes`` = 7: quantile
    quadrature sizes. LightGBM: ``n_estimators`` = 200,
    ``learning_rate`` = 0.05, ``num_leaves`` = 7, ``min_child_samples`` = 20 (small trees: defaulted
    loans are few). ``cv_folds`` = 5 for out-of-fold residuals and calibration; ``random_state`` = 0.
    """

    min_defaults: int = 50
    min_sold: int = 20
    sell_estimator: str = "lightgbm"
    price_estimator: str = "lightgbm"
    years_estimator: str = "mean"
    price_fraction_cap: float = 1.5
    residuals: str = "normal"
    n_price_nodes: int = 64
    n_year_nodes: int = 7
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 7
    min_child_samples: int = 20
    cv_folds: int = 5
    random_state: int = 0

    def __post_init__(self) -> None:
        bad = []
        if self.sell_estimator not in ("lightgbm", "logistic"):
            bad.append(f"sell_estimator={self.sell_estimator!r} (lightgbm | logistic)")
        for name in ("price_estimator", "years_estimator"):
            if getattr(self, name) not in ("lightgbm", "linear", "mean"):
                bad.append(f"{name}={getattr(self, name)!r} (lightgbm | linear | mean)")
        if self.residuals not in ("normal", "empirical"):
            bad.append(f"residuals={self.residuals!r} (normal | empirical)")
        if self.price_fraction_cap <= 0:
            bad.append(f"price_fraction_cap={self.price_fraction_cap} (must be > 0)")
        if min(self.min_defaults, self.min_sold, self.n_price_nodes, self.n_year_nodes) < 1 or self.cv_folds < 2:
            bad.append("min_defaults, min_sold, n_price_nodes, n_year_nodes must be >= 1 and cv_folds >= 2")
        if bad:
            raise ContractError("settings section 'recovery': " + "; ".join(bad))


def _lgbm_params(c: RecoveryConfig) -> dict:
    return dict(n_estimators=c.n_estimators, learning_rate=c.learning_rate, num_leaves=c.num_leaves,
                min_child_samples=c.min_child_samples, random_state=c.random_state, n_jobs=1, verbose=-1)


def _regressor(kind: str, c: RecoveryConfig):
    if kind == "mean":
        return DummyRegressor(strategy="mean")
    if kind == "linear":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), Ridge(alpha=1.0))
    return LGBMRegressor(**_lgbm_params(c))


def _classifier(kind: str, c: RecoveryConfig, minority: int):
    folds = min(c.cv_folds, minority)
    if kind == "lightgbm" and folds >= 2:
        return CalibratedClassifierCV(LGBMClassifier(**_lgbm_params(c)), method="sigmoid", cv=folds, ensemble=False)
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def _sell_probability(model, df: pd.DataFrame, values: NDArray[np.float64], threads: int) -> NDArray[np.float64]:
    """P(sold) per loan (n,). For the calibrated LightGBM classifier (``ensemble=False``: one
    classifier, one sigmoid) the same arithmetic as ``CalibratedClassifierCV.predict_proba``: the
    booster's raw score (what sklearn calibrates, LightGBM's ``decision_function``) on ``values``
    (``df`` as a float64 array, columns in the fitted order), with LightGBM's thread count chosen
    per batch (the fitted classifier keeps ``n_jobs=1``); the booster is called directly because
    the sklearn wrapper's input checks cost ~0.7 ms a call, more than one request's trees."""
    if (isinstance(model, CalibratedClassifierCV) and model.method == "sigmoid"
            and len(model.calibrated_classifiers_) == 1 and list(model.classes_) == [0, 1]):
        cc = model.calibrated_classifiers_[0]
        if isinstance(cc.estimator, LGBMClassifier) and list(cc.estimator.classes_) == [0, 1] and len(cc.calibrators) == 1:
            raw = cc.estimator.booster_.predict(values, raw_score=True, num_threads=threads)
            p = cc.calibrators[0].predict(raw)
            p[(1.0 < p) & (p <= 1.0 + 1e-5)] = 1.0
            return p
    return model.predict_proba(df)[:, 1]


def _regress(model, df: pd.DataFrame, values: NDArray[np.float64], threads: int) -> NDArray[np.float64]:
    """A fitted regressor's prediction (n,); LightGBM's booster directly on ``values`` (``df`` as a
    float64 array in the fitted column order), with the batch's thread count."""
    if isinstance(model, LGBMRegressor):
        return model.booster_.predict(values, num_threads=threads)
    return model.predict(df)


def _quantile_nodes(n: int) -> NDArray[np.float64]:
    return (np.arange(n) + 0.5) / n


def _oof_residuals(kind: str, c: RecoveryConfig, X: pd.DataFrame, y: NDArray[np.float64]) -> NDArray[np.float64]:
    folds = min(c.cv_folds, len(y))
    cv = KFold(n_splits=folds, shuffle=True, random_state=c.random_state)
    return y - cross_val_predict(_regressor(kind, c), X, y, cv=cv)


def _residual_nodes(resid: NDArray[np.float64], n: int, mode: str) -> NDArray[np.float64]:
    u = _quantile_nodes(n)
    if mode == "normal":
        return float(np.std(resid, ddof=1)) * norm.ppf(u) if len(resid) > 1 else np.zeros(n)
    centred = resid - resid.mean()
    return np.quantile(centred, u)


class RecoveryModel(BaseEstimator):
    """Disposal model of defaulted IP-pledge loans; predicts components and unbiased expected LGD.

    Fitted attributes: ``feature_names_in_``, ``sell_model_`` (or ``sell_constant_``),
    ``price_model_``, ``price_nodes_`` (logit residual quantiles), ``price_sigma_``,
    ``years_model_``, ``years_nodes_``, ``n_defaults_``, ``n_sold_``.
    """

    def __init__(self, config: RecoveryConfig | None = None):
        self.config = config

    @property
    def _cfg(self) -> RecoveryConfig:
        return self.config or RecoveryConfig()

    # ------------------------------------------------------------------ input checks
    def _frame(self, X: pd.DataFrame | ArrayLike, fitting: bool = False) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            df = X
        else:
            arr = np.asarray(X, float)
            if arr.ndim != 2:
                raise ModelError(f"recovery model: features must be a 2-d table, got shape {arr.shape}")
            names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(arr.shape[1])]))
            if len(names) != arr.shape[1]:
                raise ModelError(f"recovery model: fitted on {len(names)} features, got {arr.shape[1]} columns")
            df = pd.DataFrame(arr, columns=names)
        if not fitting and df.columns.tolist() != list(self.feature_names_in_):  # else already the fitted columns
            missing = [c for c in self.feature_names_in_ if c not in df.columns]
            if missing:
                raise ModelError(f"recovery model: feature frame lacks fitted column(s) {missing[:10]}")
            df = df[list(self.feature_names_in_)]
        try:
            return df.astype("float64")
        except (TypeError, ValueError) as e:
            raise ModelError(f"recovery model: features must be numeric (float64): {e}") from e

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_in_"):
            raise ModelError("recovery model: not fitted; call fit() on defaulted loans first")

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, sold: ArrayLike, price_fraction: ArrayLike, years_to_recovery: ArrayLike) -> RecoveryModel:
        """Fit on defaulted loans only.

        ``X``: (n, p) float64 features; ``sold``: (n,) bool, the pledged patents were sold;
        ``price_fraction``: (n,) sale price / total appraised value (used where sold; NaN allowed
        elsewhere); ``years_to_recovery``: (n,) years from default to recovery (used where sold).
        """
        c = self._cfg
        df = self._frame(X, fitting=True)
        n = len(df)
        s = np.asarray(sold).astype(bool).ravel()
        f = np.asarray(price_fraction, float).ravel()
        t = np.asarray(years_to_recovery, float).ravel()
        if not (len(s) == len(f) == len(t) == n):
            raise ModelError(f"recovery model: lengths differ (features {n}, sold {len(s)}, price_fraction {len(f)}, years_to_recovery {len(t)})")
        if n < c.min_defaults:
            raise ModelError(f"recovery model: only {n} defaulted loan(s) to learn disposal from; "
                             f"need at least {c.min_defaults} (settings recovery.min_defaults)")
        n_sold = int(s.sum())
        if n_sold < c.min_sold:
            raise ModelError(f"recovery model: only {n_sold} of {n} defaulted loans had their patents sold; "
                             f"need at least {c.min_sold} sales (settings recovery.min_sold)")
        bad_f = s & ~(np.isfinite(f) & (f >= 0))
        if bad_f.any():
            raise ModelError(f"recovery model: price_fraction must be a finite number >= 0 where sold; {int(bad_f.sum())} bad, e.g. {f[bad_f][:5].tolist()}")
        bad_t = s & ~(np.isfinite(t) & (t >= 0))
        if bad_t.any():
            raise ModelError(f"recovery model: years_to_recovery must be finite and >= 0 where sold; {int(bad_t.sum())} bad, e.g. {t[bad_t][:5].tolist()}")

        self.feature_names_in_ = np.array(df.columns, dtype=object)
        self.n_features_in_ = df.shape[1]
        self.n_defaults_, self.n_sold_ = n, n_sold
        # 1. will it sell
        minority = min(n_sold, n - n_sold)
        if minority == 0:
            self.sell_model_, self.sell_constant_ = None, (n_sold + 0.5) / (n + 1.0)
        else:
            self.sell_model_, self.sell_constant_ = _classifier(c.sell_estimator, c, minority).fit(df, s), None
        # 2. for how much (logit of the capped fraction)
        Xs = df[s]
        z = logit(np.clip(f[s] / c.price_fraction_cap, _EPS, 1.0 - _EPS))
        self.price_model_ = _regressor(c.price_estimator, c).fit(Xs, z)
        rz = _oof_residuals(c.price_estimator, c, Xs, z)
        self.price_sigma_ = float(np.std(rz, ddof=1))
        self.price_nodes_ = _residual_nodes(rz, c.n_price_nodes, c.residuals)
        # 3. when
        ts = t[s]
        self.years_model_ = _regressor(c.years_estimator, c).fit(Xs, ts)
        self.years_nodes_ = _residual_nodes(_oof_residuals(c.years_estimator, c, Xs, ts), c.n_year_nodes, "empirical")
        return self

    # ------------------------------------------------------------------ predict
    def _nodes(self, X: pd.DataFrame | ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """p_sell (n,), price-fraction nodes (n, K), years nodes (n, J); nodes equally weighted."""
        self._check_fitted()
        df = self._frame(X)
        values = df.to_numpy(np.float64)
        threads = lightgbm_threads(len(df))
        if self.sell_model_ is None:
            p = np.full(len(df), self.sell_constant_)
        else:
            p = _sell_probability(self.sell_model_, df, values, threads)
        mu = np.asarray(_regress(self.price_model_, df, values, threads), float)
        f_nodes = self._cfg.price_fraction_cap * expit(mu[:, None] + self.price_nodes_[None, :])
        mt = np.asarray(_regress(self.years_model_, df, values, threads), float)
        t_nodes = np.maximum(mt[:, None] + self.years_nodes_[None, :], 0.0)
        return p, f_nodes, t_nodes

    def disposal_nodes(self, X: pd.DataFrame | ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """The disposal distribution per loan: p_sell (n,), price-fraction nodes (n, K), years nodes (n, J).

        Computing it once and passing it as ``nodes=`` to ``predict_components`` and
        ``lgd_function`` saves the estimators' predictions (the costly part) on a hot path."""
        return self._nodes(X)

    def predict_components(self, X: pd.DataFrame | ArrayLike, nodes: tuple | None = None) -> pd.DataFrame:
        """Per loan: ``p_sell``, ``expected_price_fraction`` (E[sale price / appraised value | sold])
        and ``expected_years`` (E[years to recovery | sold]); index as ``X``'s when a frame."""
        p, f_nodes, t_nodes = nodes if nodes is not None else self._nodes(X)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame({"p_sell": p, "expected_price_fraction": f_nodes.mean(axis=1), "expected_years": t_nodes.mean(axis=1)}, index=index)

    def expected_lgd(
        self,
        X: pd.DataFrame | ArrayLike,
        exposure_at_default: ArrayLike,
        total_appraised_value: ArrayLike,
        guarantee_share: ArrayLike,
        insurance_share: ArrayLike,
        compensation_share: ArrayLike,
        discount_rate: float,
    ) -> NDArray[np.float64]:
        """Expected lender LGD per loan (fraction, (n,)) — E over sold/unsold, price and timing.

        Money arguments in one currency (CNY); shares are fractions of the loss; ``discount_rate``
        per year (the pipeline passes settings ``recovery_arithmetic.discount_rate``).
        """
        df = self._frame(X)
        n = len(df)
        args = [np.broadcast_to(np.asarray(a, float), (n,)) for a in
                (exposure_at_default, total_appraised_value, guarantee_share, insurance_share, compensation_share)]
        out = np.empty(n)
        for lo in range(0, n, _CHUNK_ROWS):  # bounds memory at _CHUNK_ROWS × K × J nodes
            sl = slice(lo, lo + _CHUNK_ROWS)
            ead, v, g, i, c = (a[sl] for a in args)
            out[sl] = self.lgd_function(df.iloc[sl], v, g, i, c, discount_rate)(ead)
        return out

    def lgd_function(
        self,
        X: pd.DataFrame | ArrayLike | None,
        total_appraised_value: ArrayLike,
        guarantee_share: ArrayLike,
        insurance_share: ArrayLike,
        compensation_share: ArrayLike,
        discount_rate: float,
        nodes: tuple | None = None,
    ) -> Callable[[ArrayLike], NDArray[np.float64]]:
        """``exposure_at_default (n,) → expected LGD (n,)`` with the features held fixed.

        The disposal distribution is computed once, so the callable is cheap enough for
        ``models.decision.max_loan_amount`` and ``models.explain.counterfactual_amount`` bisection.
        It holds 2 × n × n_price_nodes × n_year_nodes floats (7 kB per loan by default): call it on
        batches of up to some ten thousand loans. ``nodes``: ``disposal_nodes(X)`` computed already
        (``X`` is then not read and may be None).
        """
        p, f_nodes, t_nodes = nodes if nodes is not None else self._nodes(X)
        n = len(p)
        r = float(discount_rate)
        v = np.broadcast_to(np.asarray(total_appraised_value, float), (n,))
        g, i, cshare = (np.broadcast_to(np.asarray(a, float), (n,)) for a in (guarantee_share, insurance_share, compensation_share))
        # present value of the sale at every (price, time) node, sorted per loan, with prefix sums:
        # E[(EAD − PV)⁺ | sold] = (m·EAD − Σ_{k<m} PV_(k)) / N with m = #{PV < EAD}
        # laid out (loan, year node, price node): the price nodes ascend, so each row is J sorted runs,
        # which the stable (run-merging) sort exploits; same values, same sorted array as any layout
        fv = f_nodes * v[:, None]
        pv = (fv[:, None, :] * discount_factor(t_nodes, r)[:, :, None]).reshape(n, -1)
        pv.sort(axis=1, kind="stable")  # in place: the product is a fresh array
        n_nodes = pv.shape[1]
        prefix = np.empty((n, n_nodes + 1))
        prefix[:, 0] = 0.0
        np.cumsum(pv, axis=1, out=prefix[:, 1:])

        def lgd(exposure_at_default: ArrayLike, rows: NDArray[np.intp] | None = None) -> NDArray[np.float64]:
            # rows: only these loans (the amount then has one entry per row), e.g. the few a bisection still searches
            sel = slice(None) if rows is None else np.asarray(rows, dtype=np.intp)
            pv_s, prefix_s, p_s = pv[sel], prefix[sel], p[sel]
            ead = np.broadcast_to(np.asarray(exposure_at_default, float), (len(p_s),))
            m = (pv_s < ead[:, None]).sum(axis=1)
            gross_sold = (m * ead - prefix_s[np.arange(len(p_s)), m]) / n_nodes
            gross = p_s * gross_sold + (1.0 - p_s) * ead  # unsold: nothing recovered
            # the shared arithmetic on the proceeds that leave exactly the expected gross loss
            return loss_given_default(ead, ead - gross, 0.0, r, g[sel], i[sel], cshare[sel])

        lgd.takes_rows = True  # type: ignore[attr-defined]  # models.decision.max_loan_amount evaluates searched rows only
        return lgd
