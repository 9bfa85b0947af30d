"""Platt scaling on a model's raw margin: calibrated log-odds = slope · margin + intercept.

An affine map keeps additive explanations additive: scale each TreeSHAP contribution by the slope
and add the intercept to the bias term, and the contributions still sum to the calibrated log-odds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from data_contracts.errors import ModelError


class AffineCalibrator:
    """Platt scaling fitted by maximum likelihood (damped Newton–Raphson) on held-out margins.

    ``min_defaults``: fewest defaults (and non-defaults) the held-out rows must hold.
    ``ridge``: a tiny L2 penalty on the slope and intercept, so separable data stays finite.
    Fitted: ``slope_``, ``intercept_``, ``n_``, ``n_defaults_``.
    """

    def __init__(self, min_defaults: int = 20, ridge: float = 1e-6, max_iter: int = 100):
        self.min_defaults = min_defaults
        self.ridge = ridge
        self.max_iter = max_iter

    def fit(self, margin: Any, y: Any) -> AffineCalibrator:
        """``margin``: (n,) raw log-odds scores; ``y``: (n,) 0/1 default flags."""
        m = np.asarray(margin, dtype="float64").ravel()
        t = np.asarray(y, dtype="float64").ravel()
        if m.shape != t.shape:
            raise ModelError(f"calibration: {m.size} margins but {t.size} default flags")
        if not np.isfinite(m).all():
            raise ModelError("calibration: margins must be finite")
        d = int(t.sum())
        if min(d, t.size - d) < self.min_defaults:
            raise ModelError(
                f"calibration: held-out rows hold {d} default(s) and {t.size - d} non-default(s); "
                f"at least {self.min_defaults} of each are needed (min_defaults)"
            )
        Z = np.column_stack([m, np.ones_like(m)])
        rate = np.clip(t.mean(), 1e-6, 1 - 1e-6)
        w = np.array([1.0, np.log(rate / (1 - rate)) - m.mean()])  # start: identity slope, matched mean

        def loss(v: np.ndarray) -> float:
            s = Z @ v
            return float(np.sum(np.logaddexp(0.0, s) - t * s) + 0.5 * self.ridge * v @ v)

        current = loss(w)
        for _ in range(self.max_iter):  # Newton-Raphson with backtracking: never increases the loss
            p = expit(Z @ w)
            grad = Z.T @ (p - t) + self.ridge * w
            hess = (Z * (p * (1 - p))[:, None]).T @ Z + self.ridge * np.eye(2)
            step = np.linalg.solve(hess, grad)
            size = 1.0
            while size > 1e-10:
                trial = w - size * step
                new = loss(trial)
                if new <= current:
                    break
                size /= 2.0
            else:
                break
            w, improvement, current = trial, current - new, new
            if np.max(np.abs(size * step)) < 1e-10 or improvement < 1e-12 * max(1.0, abs(current)):
                break
        self.slope_, self.intercept_ = float(w[0]), float(w[1])
        self.n_, self.n_defaults_ = int(t.size), d
        return self

    def log_odds(self, margin: Any) -> np.ndarray:
        """Calibrated log-odds of default, (n,)."""
        return self.slope_ * np.asarray(margin, dtype="float64") + self.intercept_

    def predict_pd(self, margin: Any) -> np.ndarray:
        """Calibrated PD, (n,) fractions."""
        return expit(self.log_odds(margin))


class LogOddsClassifierMixin:
    """PD, class probabilities and flags of a classifier that defines ``log_odds(X) -> (n,)``
    (shared by the PD model and the scorecard, so both answer the same way)."""

    def predict_pd(self, X: Any) -> np.ndarray:
        """Probability of default, (n,) fractions."""
        return expit(self.log_odds(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2): columns P(no default), P(default)."""
        p = self.predict_pd(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        """0/1 default flag at a PD ``threshold`` (for scikit-learn tools; credit decisions use PD)."""
        return (self.predict_pd(X) >= threshold).astype("int64")


def intercept_shift(log_odds: Any, y: Any) -> float:
    """Calibration in the large: the shift δ of the log-odds (n,) with mean(expit(log_odds + δ))
    equal to the observed default rate of ``y`` (n,) 0/1. Ranks, hence AUC, are unchanged.

    Raises ``ModelError`` when ``y`` holds only one class (no finite shift exists)."""
    z = np.asarray(log_odds, dtype="float64").ravel()
    yy = np.asarray(y, dtype="float64").ravel()
    rate = float(yy.mean()) if yy.size else float("nan")
    if yy.size != z.size or not 0.0 < rate < 1.0:
        raise ModelError(f"intercept shift: needs {z.size} 0/1 outcomes with both classes (default rate {rate})")
    return float(brentq(lambda d: float(expit(z + d).mean()) - rate, -30.0, 30.0, xtol=1e-10))
