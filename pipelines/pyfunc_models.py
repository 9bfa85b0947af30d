"""MLflow pyfunc wrappers, so that a registered model loads as something that returns
probabilities (not class labels, which `mlflow.lightgbm`'s pyfunc gives) and carries the fitted
feature builder it was trained with; the patent survival wrapper returns survival probabilities.

Each wrapper's `predict` takes the loan-level (or firm-level) float64 feature frame — the
signature logged with it — and returns a DataFrame. `unwrap_python_model()` on the loaded pyfunc
gives the wrapper back, whose attributes are the fitted estimators the service uses directly.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from data_contracts.errors import ModelError


class PDPyfunc(mlflow.pyfunc.PythonModel):
    """The PD role: features (n, k) float64 → `probability_of_default` (n,).

    `pd_model` is whichever family won the gate: the LightGBM `PDModel` or the WoE `Scorecard`
    (both define `feature_names_`, `predict_pd` and additive `contributions`); `family` says which
    ("lightgbm" or "scorecard"; also the version tag `pd.family`). `recalibration`: the intercept
    shift applied on the latest labelled year, or None."""

    def __init__(self, pd_model: Any, feature_builder: Any | None = None, contract_versions: dict[str, str] | None = None,
                 family: str = "lightgbm", recalibration: dict[str, Any] | None = None):
        self.pd_model = pd_model
        self.feature_builder = feature_builder
        self.contract_versions = dict(contract_versions or {})
        self.family = family
        self.recalibration = recalibration

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:  # noqa: ARG002
        X = _as_frame(model_input, self.pd_model.feature_names_)
        return pd.DataFrame({"probability_of_default": self.pd_model.predict_pd(X)}, index=X.index)


class ScorecardPyfunc(mlflow.pyfunc.PythonModel):
    """WoE scorecard: features → `probability_of_default` and `points`."""

    def __init__(self, scorecard: Any, feature_builder: Any | None = None, contract_versions: dict[str, str] | None = None):
        self.scorecard = scorecard
        self.feature_builder = feature_builder
        self.contract_versions = dict(contract_versions or {})

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:  # noqa: ARG002
        X = _as_frame(model_input, self.scorecard.feature_names_)
        pts = self.scorecard.points(X)
        total = pts["total"] if isinstance(pts, pd.DataFrame) else pts
        return pd.DataFrame(
            {"probability_of_default": self.scorecard.predict_pd(X), "points": np.asarray(total, float)}, index=X.index
        )


class RecoveryPyfunc(mlflow.pyfunc.PythonModel):
    """Recovery model: loan features → `p_sell`, `price_fraction`, `years_to_recovery`."""

    def __init__(self, recovery_model: Any, feature_builder: Any | None = None, contract_versions: dict[str, str] | None = None):
        self.recovery_model = recovery_model
        self.feature_builder = feature_builder
        self.contract_versions = dict(contract_versions or {})

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:  # noqa: ARG002
        X = _as_frame(model_input, list(self.recovery_model.feature_names_in_))
        comp = self.recovery_model.predict_components(X)
        return pd.DataFrame(comp, index=X.index) if not isinstance(comp, pd.DataFrame) else comp


def _as_frame(model_input: Any, columns: list[str]) -> pd.DataFrame:
    X = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ModelError(f"model input: missing feature column(s) {missing[:10]}")
    return X[list(columns)].astype("float64")


class PatentSurvivalPyfunc(mlflow.pyfunc.PythonModel):
    """Patent survival: indicators at grant (n, k) float64 → ``survival_<h>y`` per horizon (the
    probability the right is still in force ``h`` years later), ``restricted_mean_years`` and
    ``risk_score``. Params: ``horizons`` (years; default the ones it was trained to report) and
    ``elapsed_years`` (years already in force: conditional survival from a later date)."""

    def __init__(self, model: Any, horizons: tuple[float, ...] = (3.0, 5.0, 8.0), contract_versions: dict[str, str] | None = None,
                 calibrated_value_weights: Any | None = None):
        self.model = model
        self.horizons = tuple(float(h) for h in horizons)
        self.contract_versions = dict(contract_versions or {})
        self.calibrated_value_weights = calibrated_value_weights

    @staticmethod
    def column(h: float) -> str:
        return f"survival_{h:g}y"

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:  # noqa: ARG002
        X = _as_frame(model_input, self.model.feature_names_)
        p = dict(params or {})
        horizons = tuple(float(h) for h in (p.get("horizons") or self.horizons))
        elapsed = float(p.get("elapsed_years") or 0.0)
        S = self.model.predict_survival(X, horizons, elapsed)
        out = {self.column(h): S[:, k] for k, h in enumerate(horizons)}
        out["restricted_mean_years"] = self.model.restricted_mean_years(X)
        out["risk_score"] = -out["restricted_mean_years"]
        return pd.DataFrame(out, index=X.index)
