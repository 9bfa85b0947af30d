"""The firm's probability of default: a calibrated, monotone-constrained LightGBM ensemble.

``PDModel`` learns PD from a float64 feature frame (one row per firm or loan, NaN allowed).

How it fits (all inside ``fit``, so serving sees the same preprocessing):

1. Synthetic features (optional, off by default; Zięba, Tomczak & Tomczak 2016): a short
   importance fit ranks the features; for the ``synthetic_top_k`` most important *unconstrained*
   features, every pair gives a ratio, a difference and a product. Features with a risk direction
   never enter a synthetic feature, so their monotone constraint holds for the whole model. A cell
   budget (``synthetic_max_cells``) turns them down or off on large frames.
2. Boosters. With an explicit validation set (the loan book's validation year): ``refit_members``
   boosters learn on all training rows (different seeds) and stop early on the validation rows.
   Without one: ``n_members``-fold stratified cross-fitting picks one number of rounds (early
   stopping on the mean held-out metric over folds) and gives every training row an out-of-fold
   margin; then ``refit_members`` boosters learn on *all* rows with that many rounds (scikit-learn's
   ``CalibratedClassifierCV(ensemble=False)`` scheme: few defaults are too precious to leave a
   fifth out of the final model). ``refit_members = 0`` keeps the cross-fitted boosters instead.
   With ``n_members == 1`` and no validation set, a stratified ``valid_fraction`` is carved out.
3. Calibration: Platt scaling on the held-out (or out-of-fold) margins, an affine map
   a·margin + b (see :mod:`models.calibration`), so TreeSHAP contributions stay additive.

Prediction on few rows (the service scores one firm at a time) runs LightGBM single-threaded:
thread start-up costs more than the trees on small batches.

Margins are log-odds of default (mean over members); PDs are fractions.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold, train_test_split

from data_contracts.errors import ModelError
from models.calibration import AffineCalibrator, LogOddsClassifierMixin
from models.direction_evidence import DirectionPolicy, choose_directions
from models.tree_shap import TreeShapTables, UnsupportedBooster

SYNTHETIC_OPS = ("ratio", "difference", "product")
_TABLES = "_tree_shap_tables_"
SMALL_BATCH = 2048
"""Rows below which prediction runs on one thread."""


def lightgbm_threads(n_rows: int, large: int = 0) -> int:
    """LightGBM ``num_threads`` for predicting ``n_rows`` rows: 1 below SMALL_BATCH (thread start-up
    costs more than the trees on small batches), else ``large`` (0 = all cores)."""
    return 1 if n_rows < SMALL_BATCH else large


@dataclass(frozen=True)
class PDModelConfig:
    """Settings of :class:`PDModel` (settings section ``pd_model``). Defaults are the product's choice,
    measured on the Polish bankruptcy data (bench/bench_polish.py) and the demo loan book."""

    learning_rate: float = 0.05
    """Shrinkage per boosting round."""
    max_rounds: int = 1000
    """Most boosting rounds per member; early stopping usually ends sooner."""
    early_stopping_rounds: int = 100
    """Stop a member when its held-out loss has not improved for this many rounds."""
    early_stopping_metric: str = "auc"
    """Held-out metric that early stopping watches (LightGBM name: "auc", "binary_logloss")."""
    num_leaves: int = 15
    """Leaves per tree."""
    min_child_samples: int = 10
    """Fewest rows in a leaf."""
    feature_fraction: float = 1.0
    """Share of features each tree may use."""
    lambda_l2: float = 0.0
    """L2 penalty on leaf values."""
    max_bin: int = 255
    """Histogram bins per feature (fine bins keep the tails of skewed financial ratios apart)."""
    extra_trees: bool = True
    """Extremely randomised split thresholds (better on few defaults; members decorrelate)."""
    n_members: int = 3
    """Cross-fitting folds without a validation set: they choose the rounds and give out-of-fold
    margins for calibration (1 = a single booster on a carved split)."""
    refit_members: int = 1
    """Boosters (seeds seed, seed+1, …) fitted on all training rows and averaged in the margin;
    0 = predict with the cross-fitted boosters themselves. One booster keeps predictions cheap."""
    valid_fraction: float = 0.2
    """Share of rows carved out (stratified) for early stopping and calibration when n_members == 1."""
    use_monotone_constraints: bool = True
    """Apply the risk directions passed to PDModel as LightGBM monotone constraints."""
    monotone_constraints_method: str = "intermediate"
    """LightGBM's method for monotone constraints ("basic", "intermediate", "advanced")."""
    synthetic_top_k: int = 0
    """Unconstrained features (by gain) whose pairs form synthetic features; 0 switches them off
    (the default: on the Polish data they did not lift the cross-validated AUC on every split)."""
    synthetic_ops: tuple[str, ...] = SYNTHETIC_OPS
    """Pairwise operations for synthetic features: any of "ratio", "difference", "product"."""
    synthetic_rounds: int = 200
    """Boosting rounds of the importance fit that ranks features for synthetic features."""
    synthetic_max_cells: int = 3_000_000
    """Data-size profile: synthetic features are added only while rows × (features + synthetic)
    stays within this many cells — all 315 pairs' features on the Polish data (7k × 64), none on
    an 80k-row loan book with 60 features, which keeps large fits fast."""
    min_defaults: int = 20
    """Fewest defaults (and non-defaults) among the training rows, and among the carved or
    out-of-fold rows that calibrate."""
    min_valid_defaults: int = 10
    """Fewest defaults (and non-defaults) in an explicit validation set (X_valid): a small book's
    validation year may hold only 10–20 defaults; fewer make early stopping and Platt scaling
    guesswork."""
    n_jobs: int = 1
    """LightGBM threads per booster (1 is fastest on small data and on a busy machine)."""
    predict_threads: int = 0
    """LightGBM threads for predicting batches of SMALL_BATCH rows or more (0 = all cores);
    smaller batches always use one thread."""
    seed: int = 0
    """Seed for splits, bagging and extra-trees thresholds."""

    def __post_init__(self) -> None:
        bad = [op for op in self.synthetic_ops if op not in SYNTHETIC_OPS]
        if bad:
            raise ModelError(f"pd_model: unknown synthetic_ops {bad}; use any of {list(SYNTHETIC_OPS)}")
        if (self.n_members < 1 or self.refit_members < 0 or not (0 < self.valid_fraction < 1)
                or self.min_defaults < 1 or self.min_valid_defaults < 1):
            raise ModelError("pd_model: n_members >= 1, refit_members >= 0, 0 < valid_fraction < 1, "
                             "min_defaults >= 1 and min_valid_defaults >= 1 are required")


class PDModel(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """Calibrated PD estimator with monotone constraints and additive reason codes.

    Parameters
    ----------
    config : PDModelConfig, default ``PDModelConfig()``.
    monotone_constraints : mapping feature name → +1 (a higher value must not lower PD),
        −1 (must not raise PD) or 0; e.g. ``contract.risk_directions()``. Names absent from the
        training frame are ignored (listed in ``unused_constraints_``).
    random_state : seed overriding ``config.seed`` when given.
    direction_policy : :class:`~models.direction_evidence.DirectionPolicy` or None. None enforces
        every given direction (no evidence computed); otherwise the directions are tested on the
        training rows and the policy chooses which are enforced (``direction_evidence_``).

    Fitted attributes
    -----------------
    ``feature_names_`` (input columns, in order), ``n_features_in_``, ``classes_`` = [0, 1],
    ``monotone_constraints_`` (applied, name → sign), ``unused_constraints_``, ``direction_evidence_``
    (per stated direction: contract vs data, evidence, enforced; None without a policy),
    ``synthetic_features_`` (tuples (name, left, right, op)), ``boosters_`` (LightGBM boosters),
    ``best_iterations_`` (per member; ``best_iteration_`` their mean), ``calibrator_`` (:class:`AffineCalibrator`), ``n_defaults_``,
    ``feature_importances_`` (gain per input feature, synthetic gain split between its parents).
    """

    def __init__(
        self,
        config: PDModelConfig | None = None,
        monotone_constraints: Mapping[str, int] | None = None,
        random_state: int | None = None,
        direction_policy: DirectionPolicy | None = None,
    ):
        self.config = config
        self.monotone_constraints = monotone_constraints
        self.random_state = random_state
        self.direction_policy = direction_policy

    # -- fitting ----------------------------------------------------------------------------
    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        X_valid: pd.DataFrame | None = None,
        y_valid: Any | None = None,
    ) -> PDModel:
        """Learn from ``X`` (n, p) numeric frame and ``y`` (n,) 0/1 default flags.

        ``X_valid``/``y_valid`` (optional, together): rows for early stopping and calibration.
        """
        cfg = self._config()
        if not isinstance(X, pd.DataFrame):
            raise ModelError("PDModel.fit: X must be a pandas DataFrame with named feature columns")
        dupes = sorted({c for c in X.columns if list(X.columns).count(c) > 1})
        if dupes:
            raise ModelError(f"PDModel.fit: duplicate feature columns {dupes}")
        self.feature_names_ = [str(c) for c in X.columns]
        self.n_features_in_ = len(self.feature_names_)
        self.classes_ = np.array([0, 1])
        Xf = self._as_float(X, "fit")
        yy = _target(y, len(Xf), "y")
        self._check_defaults(yy, cfg.min_defaults, "training rows")
        if (X_valid is None) != (y_valid is None):
            raise ModelError("PDModel.fit: give both X_valid and y_valid, or neither")

        self._set_constraints(cfg, X, yy)
        self.synthetic_features_ = self._choose_synthetic(Xf, yy, cfg)
        Z = self._design(Xf)
        params = self._params(cfg)

        self.boosters_: list[lgb.Booster] = []
        self.best_iterations_: list[int] = []
        if X_valid is not None:
            Vf = self._as_float(self._aligned(X_valid), "fit (X_valid)")
            yv = _target(y_valid, len(Vf), "y_valid")
            self._check_defaults(yv, cfg.min_valid_defaults, "validation rows (X_valid)", "min_valid_defaults")
            Zv = self._design(Vf)
            for k in range(max(cfg.refit_members, 1)):
                self._grow(params, cfg, k, Z, yy, Zv, yv)
            calib_margin, calib_y = self._margin_of(Zv), yv
        elif cfg.n_members == 1:
            tr, va = train_test_split(
                np.arange(len(yy)), test_size=cfg.valid_fraction, stratify=yy, random_state=cfg.seed
            )
            self._check_defaults(yy[va], cfg.min_defaults, f"carved validation rows ({cfg.valid_fraction:.0%})")
            self._grow(params, cfg, 0, Z[tr], yy[tr], Z[va], yy[va])
            calib_margin, calib_y = self._margin_of(Z[va]), yy[va]
        else:
            calib_margin, calib_y = self._cross_fit(params, cfg, Z, yy), yy
        need = cfg.min_valid_defaults if X_valid is not None else cfg.min_defaults
        self.calibrator_ = AffineCalibrator(min_defaults=need).fit(calib_margin, calib_y)
        self.n_defaults_ = int(yy.sum())
        self.feature_importances_ = self._importances()
        self.best_iteration_ = int(round(float(np.mean(self.best_iterations_))))
        return self

    def _cross_fit(self, params: dict, cfg: PDModelConfig, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cross-fitted boosters sharing one number of rounds, chosen by early stopping on the mean
        held-out metric over folds (steadier than per-fold stopping on few defaults); then
        ``refit_members`` boosters on all rows with that many rounds (or the cross-fitted ones kept).
        Returns the out-of-fold margins of the cross-fitted boosters, (n,)."""
        folds = list(StratifiedKFold(n_splits=cfg.n_members, shuffle=True, random_state=cfg.seed).split(Z, y))
        res = lgb.cv(
            {**params, "seed": cfg.seed},
            lgb.Dataset(Z, y, free_raw_data=True),
            num_boost_round=cfg.max_rounds,
            folds=folds,
            callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
            return_cvbooster=True,
        )
        cvb = res["cvbooster"]
        best = int(cvb.best_iteration) if cvb.best_iteration > 0 else cfg.max_rounds
        oof = np.empty(len(y))
        for b, (_, va) in zip(cvb.boosters, folds):
            oof[va] = b.predict(Z[va], raw_score=True, num_iteration=best)
            if cfg.refit_members == 0:
                self.boosters_.append(lgb.Booster(model_str=b.model_to_string(num_iteration=best)))
                self.best_iterations_.append(best)
        del res, cvb
        if cfg.refit_members:
            train = lgb.Dataset(Z, y, free_raw_data=True)
            for k in range(cfg.refit_members):
                self.boosters_.append(lgb.train({**params, "seed": cfg.seed + k}, train, num_boost_round=best))
                self.best_iterations_.append(best)
        return oof

    def _grow(self, params: dict, cfg: PDModelConfig, k: int, Zt, yt, Zv, yv) -> lgb.Booster:
        train = lgb.Dataset(Zt, yt, free_raw_data=True)
        valid = lgb.Dataset(Zv, yv, reference=train)
        b = lgb.train(
            {**params, "seed": cfg.seed + k},
            train,
            num_boost_round=cfg.max_rounds,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
        )
        best = b.best_iteration or cfg.max_rounds
        trimmed = lgb.Booster(model_str=b.model_to_string(num_iteration=best))
        self.boosters_.append(trimmed)
        self.best_iterations_.append(int(best))
        return trimmed

    def _params(self, cfg: PDModelConfig) -> dict[str, Any]:
        mono = [self.monotone_constraints_.get(n, 0) for n in self.feature_names_]
        mono += [0] * len(self.synthetic_features_)
        p: dict[str, Any] = {
            "objective": "binary",
            "metric": cfg.early_stopping_metric,
            "learning_rate": cfg.learning_rate,
            "num_leaves": cfg.num_leaves,
            "min_child_samples": cfg.min_child_samples,
            "feature_fraction": cfg.feature_fraction,
            "lambda_l2": cfg.lambda_l2,
            "max_bin": cfg.max_bin,
            "extra_trees": cfg.extra_trees,
            "num_threads": cfg.n_jobs,
            "verbose": -1,
            "deterministic": True,
            "force_row_wise": True,
        }
        if any(mono):
            p["monotone_constraints"] = mono
            p["monotone_constraints_method"] = cfg.monotone_constraints_method
        return p

    def _set_constraints(self, cfg: PDModelConfig, X: pd.DataFrame, y: np.ndarray) -> None:
        """The monotone constraints this fit enforces: the given directions, tested on the training
        rows and chosen by ``direction_policy`` when one is set (see models/direction_evidence.py)."""
        given = dict(self.monotone_constraints or {}) if cfg.use_monotone_constraints else {}
        bad = {k: v for k, v in given.items() if v not in (-1, 0, 1)}
        if bad:
            raise ModelError(f"PDModel: monotone constraints must be +1, -1 or 0; got {bad}")
        given, self.direction_evidence_ = choose_directions(X.set_axis(self.feature_names_, axis=1), y, given,
                                                            self.direction_policy)
        names = set(self.feature_names_)
        self.monotone_constraints_ = {k: int(v) for k, v in given.items() if k in names and v != 0}
        self.unused_constraints_ = sorted(k for k in given if k not in names)

    def _choose_synthetic(self, Xf: np.ndarray, y: np.ndarray, cfg: PDModelConfig) -> list[tuple[str, str, str, str]]:
        free = [i for i, n in enumerate(self.feature_names_) if n not in self.monotone_constraints_]
        k = min(cfg.synthetic_top_k, len(free))
        room = cfg.synthetic_max_cells / max(len(y), 1) - len(self.feature_names_)  # synthetic columns allowed
        while k >= 2 and k * (k - 1) // 2 * len(cfg.synthetic_ops) > room:
            k -= 1
        if k < 2 or not cfg.synthetic_ops:
            return []
        params = {**self._params_plain(cfg), "seed": cfg.seed}
        b = lgb.train(params, lgb.Dataset(Xf[:, free], y), num_boost_round=cfg.synthetic_rounds)
        gain = b.feature_importance("gain")
        top = [free[i] for i in np.argsort(-gain, kind="stable")[:k] if gain[i] > 0]
        out = []
        for i, j in itertools.combinations(top, 2):
            a, c = self.feature_names_[i], self.feature_names_[j]
            for op in cfg.synthetic_ops:
                sym = {"ratio": "/", "difference": "-", "product": "*"}[op]
                out.append((f"({a}){sym}({c})", a, c, op))
        return out

    @staticmethod
    def _params_plain(cfg: PDModelConfig) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": cfg.learning_rate,
            "num_leaves": cfg.num_leaves,
            "min_child_samples": cfg.min_child_samples,
            "extra_trees": cfg.extra_trees,
            "max_bin": cfg.max_bin,
            "num_threads": cfg.n_jobs,
            "verbose": -1,
            "deterministic": True,
            "force_row_wise": True,
        }

    # -- prediction -------------------------------------------------------------------------
    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated ensemble log-odds (mean of member raw margins), (n,)."""
        self._fitted()
        return self._margin_of(self._design(self._as_float(self._aligned(X), "predict")))

    def log_odds(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds of default a·margin + b, (n,)."""
        self._fitted()
        return self.calibrator_.log_odds(self.margin(X))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Additive reasons in calibrated log-odds: (n, features + 'bias'), rows summing to logit(PD).

        TreeSHAP averaged over members (LightGBM's ``pred_contrib`` below SMALL_BATCH rows, the
        same values from per-leaf tables above: models/tree_shap.py), a synthetic feature's share
        split equally between its two parents, all scaled by the calibration slope a; the bias
        column also holds the intercept b. Positive = pushes towards default.
        """
        self._fitted()
        Xa = self._aligned(X)
        Z = self._design(self._as_float(Xa, "predict"))
        raw = sum(self._contributions_of(i, Z) for i in range(len(self.boosters_))) / len(self.boosters_)
        p = self.n_features_in_
        per = raw[:, :p].copy()
        pos = {n: i for i, n in enumerate(self.feature_names_)}
        for s, (_, a, c, _) in enumerate(self.synthetic_features_):
            half = raw[:, p + s] / 2.0
            per[:, pos[a]] += half
            per[:, pos[c]] += half
        cal = self.calibrator_
        values = np.empty((len(per), p + 1))
        values[:, :p] = cal.slope_ * per
        values[:, p] = cal.slope_ * raw[:, -1] + cal.intercept_
        return pd.DataFrame(values, columns=[*self.feature_names_, "bias"], index=Xa.index)

    def _contributions_of(self, member: int, Z: np.ndarray) -> np.ndarray:
        """One member's TreeSHAP (n, columns + 1) of design rows ``Z``."""
        tables = self._tree_shap_tables() if Z.shape[0] >= SMALL_BATCH else None
        if tables is None:
            return self._predict(self.boosters_[member], Z, pred_contrib=True)
        return tables[member].contributions(Z)

    def _tree_shap_tables(self) -> list[TreeShapTables] | None:
        """Per member, the TreeSHAP tables (built on first use, kept on the instance, never pickled);
        None when a booster has a shape the tables do not cover."""
        if _TABLES not in self.__dict__:
            try:
                self.__dict__[_TABLES] = [TreeShapTables.from_booster(b) for b in self.boosters_]
            except UnsupportedBooster:
                self.__dict__[_TABLES] = None
        return self.__dict__[_TABLES]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop(_TABLES, None)  # derived from the boosters: rebuilt where the model is used
        return state

    def with_intercept_shift(self, delta: float) -> PDModel:
        """A copy whose calibrated log-odds are shifted by ``delta`` (recalibration in the large:
        the calibrator's intercept moves; TreeSHAP reasons stay additive, ranks and AUC unchanged)."""
        self._fitted()
        new = copy.deepcopy(self)
        new.calibrator_.intercept_ = float(self.calibrator_.intercept_ + delta)
        return new

    # -- helpers ----------------------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "calibrator_"):
            raise ModelError("PDModel is not fitted; call fit first")

    def _margin_of(self, Z: np.ndarray) -> np.ndarray:
        return sum(self._predict(b, Z, raw_score=True) for b in self.boosters_) / len(self.boosters_)

    def _predict(self, booster: lgb.Booster, Z: np.ndarray, **how: Any) -> np.ndarray:
        """One booster's raw margins or contributions; single-threaded below SMALL_BATCH rows."""
        return booster.predict(Z, num_threads=lightgbm_threads(Z.shape[0], self._config().predict_threads), **how)

    def _aligned(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "feature_names_"):
            raise ModelError("PDModel is not fitted; call fit first")
        if not isinstance(X, pd.DataFrame):
            raise ModelError("PDModel: X must be a pandas DataFrame with named feature columns")
        have = [str(c) for c in X.columns.tolist()]  # tolist: iterating a pyarrow-backed Index costs ~1 ms
        if have == self.feature_names_:
            return X  # already the fitted columns in the fitted order (the scoring path selects them so)
        missing = [c for c in self.feature_names_ if c not in have]
        extra = [c for c in have if c not in set(self.feature_names_)]
        if missing or extra:
            raise ModelError(
                f"PDModel: feature columns do not match the fitted model; missing {missing[:10]}"
                f"{' …' if len(missing) > 10 else ''}, unexpected {extra[:10]}{' …' if len(extra) > 10 else ''}"
            )
        return X.set_axis(have, axis=1)[self.feature_names_]

    @staticmethod
    def _as_float(X: pd.DataFrame, where: str) -> np.ndarray:
        bad = [str(c) for c, t in X.dtypes.items() if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))]
        if bad:
            raise ModelError(f"PDModel.{where}: feature columns must be numeric (float64); not numeric: {bad[:10]}")
        return X.to_numpy(dtype="float64", na_value=np.nan)

    def _design(self, Xf: np.ndarray) -> np.ndarray:
        if not self.synthetic_features_:
            return Xf
        pos = {n: i for i, n in enumerate(self.feature_names_)}
        extra = np.empty((Xf.shape[0], len(self.synthetic_features_)))
        with np.errstate(all="ignore"):
            for s, (_, a, c, op) in enumerate(self.synthetic_features_):
                u, v = Xf[:, pos[a]], Xf[:, pos[c]]
                extra[:, s] = u / np.where(v == 0, np.nan, v) if op == "ratio" else u - v if op == "difference" else u * v
        extra[~np.isfinite(extra)] = np.nan
        return np.hstack([Xf, extra])

    def _importances(self) -> pd.Series:
        p = self.n_features_in_
        gain = sum(b.feature_importance("gain") for b in self.boosters_) / len(self.boosters_)
        out = pd.Series(gain[:p].astype(float), index=self.feature_names_)
        for s, (_, a, c, _) in enumerate(self.synthetic_features_):
            out[a] += gain[p + s] / 2.0
            out[c] += gain[p + s] / 2.0
        return out

    @staticmethod
    def _check_defaults(y: np.ndarray, need: int, what: str, setting: str = "min_defaults") -> None:
        d = int(y.sum())
        if d == 0 or d == y.size:
            raise ModelError(f"PDModel: {what} hold only one class ({d} default(s) among {y.size} rows)")
        if min(d, y.size - d) < need:
            raise ModelError(
                f"PDModel: {what} hold {d} default(s) and {y.size - d} non-default(s); "
                f"at least {need} of each are needed ({setting})"
            )

    def _config(self) -> PDModelConfig:
        cfg = self.config or PDModelConfig()
        return cfg if self.random_state is None else replace(cfg, seed=int(self.random_state))

    def config_dict(self) -> dict[str, Any]:
        """The effective configuration as a plain dict (for logging as parameters)."""
        return asdict(self._config())


def _target(y: Any, n: int, name: str) -> np.ndarray:
    a = np.asarray(y, dtype="float64").ravel()
    if a.size != n:
        raise ModelError(f"PDModel: {name} has {a.size} rows but the feature frame has {n}")
    bad = ~np.isin(a, (0.0, 1.0))
    if bad.any():
        raise ModelError(f"PDModel: {name} must be 0/1 default flags; got e.g. {np.unique(a[bad])[:5].tolist()}")
    return a.astype("int64")
