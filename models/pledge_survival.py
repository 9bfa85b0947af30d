"""Will the pledged rights still exist when a default is worked out? The in-force probability of each
pledged patent at the loan's workout horizon, and the value-weighted in-force share per loan that
scales the collateral value in the LGD (``models.scoring``).

Horizon = loan term + expected workout time (years from default to recovery, from the recovery
model). Two sources, both pure:

* **statutory fallback** (no survival model): a right counts in force at the horizon iff it is in
  force at origination (``is_valid``) and its statutory term outlives the horizon
  (``remaining_life_years`` ≥ horizon); lapse for unpaid fees is not foreseen.
* **survival model** (``models.survival.PatentSurvivalModel``, e.g. the champion trained on the
  CNIPA register by ``iprisk patents train-survival``): P(in force at elapsed + horizon | in force
  at elapsed), elapsed = years since grant, times the statutory factor. Its indicators are mapped
  from the pledge indicators (``survival_inputs``); those the product's patents table does not hold
  are left NaN and the model imputes its training medians. The CNIPA model describes invention
  patents: utility models and designs keep the statutory fallback.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from data_contracts.errors import ModelError
from features.collateral_pool import loan_codes, value_weighted_by_loan

PLEDGE_COLUMNS = ("is_valid", "is_invention", "remaining_life_years", "age_years", "grant_lag_years",
                  "claims_count", "scope", "co_owners")
"""Pledge indicators (``features.patent_indicators``) the in-force probability reads."""


def _col(ind: pd.DataFrame, name: str) -> NDArray[np.float64]:
    if name not in ind.columns:
        raise ModelError(f"pledge survival: indicators lack column '{name}' (need {list(PLEDGE_COLUMNS)})")
    return ind[name].to_numpy(dtype=float, na_value=np.nan)


def statutory_in_force(ind: pd.DataFrame, horizon_years: ArrayLike) -> NDArray[np.float64]:
    """1.0 where the right is in force at origination and its term outlives ``horizon_years``, else 0 (n,)."""
    h = np.broadcast_to(np.asarray(horizon_years, float), (len(ind),))
    valid = np.nan_to_num(_col(ind, "is_valid")) > 0
    return (valid & (np.nan_to_num(_col(ind, "remaining_life_years")) >= h)).astype(float)


def survival_inputs(ind: pd.DataFrame, feature_names: list[str]) -> pd.DataFrame:
    """The survival model's at-grant indicators from pledge indicators (NaN where the patents table
    has no counterpart): log_claims, ipc_subclass_count (scope), applicants_count (co-owners + 1),
    grant_lag_years, remaining_term_years (term left at grant = remaining life + years since grant)."""
    lag = _col(ind, "grant_lag_years")
    since_grant = np.maximum(_col(ind, "age_years") - lag, 0.0)
    known = {
        "log_claims": np.log1p(_col(ind, "claims_count")),
        "ipc_subclass_count": _col(ind, "scope"),
        "applicants_count": _col(ind, "co_owners") + 1.0,
        "grant_lag_years": lag,
        "remaining_term_years": _col(ind, "remaining_life_years") + since_grant,
    }
    return pd.DataFrame({n: known.get(n, np.full(len(ind), np.nan)) for n in feature_names}, index=ind.index)


def in_force_probability(ind: pd.DataFrame, horizon_years: ArrayLike, survival: Any | None = None) -> NDArray[np.float64]:
    """P(each pledged right is in force ``horizon_years`` after origination), shape (n,), in [0, 1].

    ``ind``: one row per pledge with ``PLEDGE_COLUMNS``; ``horizon_years``: one number or one per row;
    ``survival``: a fitted model with ``feature_names_`` and ``predict_survival(X, horizons,
    elapsed_years)``, or None for the statutory fallback."""
    h = np.broadcast_to(np.asarray(horizon_years, float), (len(ind),))
    if (h < 0).any() or not np.all(np.isfinite(h)):
        raise ModelError("pledge survival: horizons must be finite years >= 0")
    p = statutory_in_force(ind, h)
    if survival is None or len(ind) == 0:
        return p
    inv = (np.nan_to_num(_col(ind, "is_invention")) > 0) & (p > 0)
    if inv.any():
        sub = ind[inv]
        elapsed = np.maximum(_col(sub, "age_years") - np.nan_to_num(_col(sub, "grant_lag_years")), 0.0)
        X = survival_inputs(sub, list(survival.feature_names_))
        # one horizon per row: evaluate on the distinct horizons and pick each row's own
        hs, where = np.unique(h[inv], return_inverse=True)
        S = survival.predict_survival(X, hs, elapsed_years=elapsed)
        p[inv] = S[np.arange(len(sub)), where]
    return np.clip(p, 0.0, 1.0)


def in_force_share_of_loans(loan_pos: ArrayLike, n_loans: int, appraised_values: ArrayLike,
                            probability: ArrayLike) -> NDArray[np.float64]:
    """Appraised-value-weighted in-force probability per loan (n_loans,), from one row per pledged
    right (``loan_pos``, (m,): the row's loan in 0..n_loans-1); equal weights where a loan's values
    sum to 0; 1.0 for a loan without rights (nothing pledged can lapse)."""
    return value_weighted_by_loan(probability, appraised_values, loan_pos, n_loans, 1.0, "pledge survival")


def in_force_share_by_loan(loan_ids: ArrayLike, appraised_values: ArrayLike, probability: ArrayLike) -> pd.Series:
    """``in_force_share_of_loans`` keyed by loan id: one share per distinct id, in order of first appearance."""
    codes, ids = loan_codes(loan_ids, "pledge survival")
    share = in_force_share_of_loans(codes, len(ids), appraised_values, probability)
    return pd.Series(share, index=ids, name="in_force_share")
