"""The recovery model's learning targets from defaulted loans, and its LGD checked against what
was realised."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def recovery_frame(loans: pd.DataFrame, outcomes: pd.DataFrame, X_all: pd.DataFrame, rows: np.ndarray,
                   columns: list[str]) -> dict[str, Any]:
    """Disposal outcomes of defaulted loans in `rows`: collateral features `X` (d, k), `sold` flag,
    `price_fraction` (sale price / appraised value) and `years` from default to recovery."""
    d = rows & outcomes["defaulted"].astype(bool).to_numpy()
    o = outcomes[d]
    X = X_all.loc[d, columns]
    value = X_all.loc[d, "total_appraised_value"].to_numpy(float)
    price = o["sale_price"].to_numpy(float)
    frac = np.where(value > 0, price / np.where(value > 0, value, 1.0), 0.0)
    years = (pd.to_datetime(o["recovery_date"]) - pd.to_datetime(o["default_date"])).dt.days.to_numpy(float) / 365.25
    return {"X": X, "sold": o["patents_sold"].astype(bool).to_numpy(), "price_fraction": frac, "years": years}


def lgd_eval(recovery: Any, loans: pd.DataFrame, outcomes: pd.DataFrame, X_all: pd.DataFrame, rows: np.ndarray,
             discount_rate: float) -> dict[str, Any]:
    """Expected against realised LGD on the defaulted loans in `rows`: error, bias, correlation."""
    if rows.sum() == 0:
        return {"metrics": {}, "realised": np.array([]), "expected": np.array([])}
    L = loans[rows]
    exp = recovery.expected_lgd(
        X_all.loc[rows, list(recovery.feature_names_in_)], L["amount"].to_numpy(float),
        X_all.loc[rows, "total_appraised_value"].to_numpy(float), L["guarantee_share"].to_numpy(float),
        L["insurance_share"].to_numpy(float), L["compensation_share"].to_numpy(float), discount_rate,
    )
    real = outcomes[rows]["realised_lgd"].to_numpy(float)
    return {
        "metrics": {
            "lgd_mae": float(np.mean(np.abs(exp - real))),
            "lgd_rmse": float(np.sqrt(np.mean((exp - real) ** 2))),
            "lgd_bias": float(np.mean(exp - real)),
            "mean_expected_lgd": float(np.mean(exp)),
            "mean_realised_lgd": float(np.mean(real)),
            "lgd_corr": float(np.corrcoef(exp, real)[0, 1]) if len(real) > 2 else float("nan"),
            "n_defaulted_test": float(len(real)),
        },
        "realised": real,
        "expected": exp,
    }
